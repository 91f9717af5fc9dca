// SPDX-License-Identifier: GPL-2.0-or-later
// Head-of-line (security issue 16, item 8): while 3 connections loop 20 MB command lines, another
// client sends small stanzas one after the other; how many of them are refused (503 "the REST
// worker is busy", 504) instead of routed? Prints the statuses of both sides.
// Alone: `npx tsx scripts/probe-hol-commands.ts` (PROBE_SECONDS, default 15; PROBE_MODULE_TREE=dir
// to probe another build, e.g. main's _build/mod_rest, for the figures before a change;
// PROBE_SHAPE=stanza to loop 19 MB stanzas of the original protocol instead, which max_body_size
// still admits).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, Sandbox, sleep } from './sandbox';

const SECONDS = Number(process.env.PROBE_SECONDS ?? 15);
const HOSTILE_CONNECTIONS = 3;
const SMALL = Buffer.from('<message from="localhost/probe" to="nobody@localhost"><body>small</body></message>');

function post(port: number, body: Buffer, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/rest', method: 'POST', agent, headers: { 'Content-Length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function curl(port: number, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '30', '--data-binary', body.toString(), `http://127.0.0.1:${port}/rest`];
    execFile('curl', args, (_err, stdout) => resolve(Number(stdout) || 0));
  });
}

const tally = (statuses: number[]): string => {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${n} x ${s === 0 ? 'no answer' : s}`).join(', ');
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-probe-hol-'));
  const sb = new Sandbox({ dir, c2sPort: await freePort(), httpPort: await freePort(), moduleTree: process.env.PROBE_MODULE_TREE });
  await sb.start();
  try {
    const port = sb.options.httpPort;
    // Just under max_body_size (20 MiB): 10 million arguments, or a stanza with a 19 MB body.
    const line =
      process.env.PROBE_SHAPE === 'stanza'
        ? Buffer.from(`<message from="localhost/hol" to="nobody@localhost"><body>${'x'.repeat(20_000_000)}</body></message>`)
        : Buffer.from(`registered_users ${'x '.repeat(10_000_000)}`);
    const deadline = Date.now() + SECONDS * 1000;
    const hostile: number[] = [];
    const loops = Array.from({ length: HOSTILE_CONNECTIONS }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (Date.now() < deadline) hostile.push(await post(port, line, agent));
      agent.destroy();
    });
    await sleep(1000); // the hostile loops are under way
    const small: number[] = [];
    const times: number[] = [];
    // From another process (curl), so that this one's event loop, busy writing 20 MB bodies,
    // does not delay them.
    while (Date.now() < deadline) {
      const started = Date.now();
      small.push(await curl(port, SMALL));
      times.push(Date.now() - started);
      await sleep(200);
    }
    times.sort((a, b) => a - b);
    await Promise.all(loops);
    console.log(`${SECONDS} s, ${HOSTILE_CONNECTIONS} connections looping ${(line.length / 1048576).toFixed(0)} MB ${process.env.PROBE_SHAPE === 'stanza' ? 'stanzas' : 'command lines'}`);
    console.log(`hostile command lines: ${hostile.length} (${tally(hostile)})`);
    console.log(`small stanzas:         ${small.length} (${tally(small)}); refused: ${small.filter((s) => s !== 200).length}`);
    console.log(`small stanza times:    median ${times[times.length >> 1]} ms, max ${times[times.length - 1]} ms`);
  } finally {
    await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
