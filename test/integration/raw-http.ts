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

/**
 * Writes `request` on a new connection and closes it as soon as the bytes are written, before
 * any answer can come back: a client whose connection was cut after it sent its request.
 */
export function writeAndCut(sb: Sandbox, request: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: sb.options.httpPort });
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(request, (err) => (socket.destroy(), err ? reject(err) : resolve())));
  });
}

/** A whole HTTP/1.1 POST as bytes, with Host and Content-Length filled in. */
export function rawPost(sb: Sandbox, body: string, headers: Record<string, string>, path = '/rest'): string {
  const lines = Object.entries({ Host: `127.0.0.1:${sb.options.httpPort}`, ...headers, 'Content-Length': String(Buffer.byteLength(body)) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `POST ${path} HTTP/1.1\r\n${lines}\r\n${body}`;
}
