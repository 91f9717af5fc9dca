// SPDX-License-Identifier: GPL-2.0-or-later
// Bytes on a socket, for requests no HTTP client library sends: duplicate headers, a body
// longer than its Content-Length, pipelining.
import { connect } from 'node:net';
import type { Sandbox } from '../../scripts/sandbox';
import { recordRawExchange } from './answers';

/**
 * Writes `request` in one write on a new connection and resolves with what came back within
 * `waitMs` of the first byte (or until the server closed). Rejects when nothing comes back.
 */
export function rawExchange(sb: Sandbox, request: string | Buffer, waitMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: sb.options.httpPort });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let recorded = false;
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(overall);
      socket.destroy();
      if (chunks.length === 0) reject(new Error('no answer on the connection'));
      else {
        const reply = Buffer.concat(chunks).toString('utf8');
        if (!recorded) recordRawExchange(request, reply);
        recorded = true;
        resolve(reply);
      }
    };
    const overall = setTimeout(done, 10_000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(timer);
      timer = setTimeout(done, waitMs);
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(request);
  });
}
