// SPDX-License-Identifier: GPL-2.0-or-later
// Head-of-line blocking (security issue, item 5): while two clients loop an expensive request,
// how long does a third client's cheap stanza take, and how many of its requests fail?
// The original and ours side by side, each in its own throwaway ejabberd, one after the other.
// Part of `make bench`; alone: `npx tsx scripts/bench-hol.ts`.
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { percentile } from './bench/stats';
import { ORIGINAL_TREE } from './compare-original';
import { freePort, Sandbox, sleep } from './sandbox';

const SECONDS = Number(process.env.BENCH_HOL_SECONDS ?? 10);

interface Shape {
  name: string;
  body: () => Buffer;
}

// The two hostile shapes of the security issue: 1 MB of 250,000 empty children, and a 20 MB
// command line of 10 million arguments.
const SHAPES: Shape[] = [
  {
    name: '1 MB stanzas of 250,000 elements',
    body: () => Buffer.from(`<message to="nobody@localhost" from="localhost/hol"><body>x</body>${'<a/>'.repeat(250_000)}</message>`),
  },
  { name: '20 MB command lines of 10 million arguments', body: () => Buffer.from(`registered_users ${'x '.repeat(10_000_000)}`) },
];

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function postOnce(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Length': String(body.length), Host: 'localhost' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(body);
  });
}


interface Probe {
  p50: number;
  p99: number;
  sent: number;
  failed: Map<number, number>;
  hostile: number;
}

async function measure(sb: Sandbox, shape: Shape | null): Promise<Probe> {
  const deadline = Date.now() + SECONDS * 1000;
  let hostile = 0;
  const loops = shape
    ? Array.from({ length: 2 }, async () => {
        const body = shape.body();
        while (Date.now() < deadline) {
          await postOnce(sb.restUrl, body);
          hostile++;
        }
      })
    : [];
  const latencies: number[] = [];
  const failed = new Map<number, number>();
  const probe = Buffer.from('<message to="nobody@localhost" from="localhost/probe"><body>probe</body></message>');
  await sleep(200); // let the hostile clients start
  while (Date.now() < deadline) {
    const started = process.hrtime.bigint();
    const status = await postOnce(sb.restUrl, probe);
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (status !== 200) failed.set(status, (failed.get(status) ?? 0) + 1);
    await sleep(20);
  }
  await Promise.all(loops);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), sent: latencies.length, failed, hostile };
}

async function node(which: 'original' | 'ours', base: string): Promise<Sandbox> {
  const sb = new Sandbox({
    dir: path.join(base, `hol-${which}`),
    c2sPort: await freePort(),
    httpPort: await freePort(),
    modRest: which === 'ours' ? { allowed_ips: ['127.0.0.1'], access_commands: 'open' } : { allowed_ips: ['127.0.0.1'] },
    config: { modules: { mod_roster: {}, mod_disco: {} }, loglevel: 'warning' },
    ...(which === 'original' ? { moduleTree: ORIGINAL_TREE } : {}),
  });
  await sb.start();
  return sb;
}

export async function benchHeadOfLine(base: string): Promise<void> {
  console.log(`## head-of-line: a probe stanza every 20 ms while two clients loop an expensive request, ${SECONDS} s each`);
  for (const shape of [null, ...SHAPES]) {
    for (const which of ['original', 'ours'] as const) {
      const sb = await node(which, base);
      try {
        const r = await measure(sb, shape);
        const failures = [...r.failed].map(([s, n]) => `${n}x${s || 'no answer'}`).join(' ') || 'none';
        console.log(
          `  ${(shape?.name ?? 'no hostile load').padEnd(44)} ${which.padEnd(8)} probe p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms; ${r.sent} probes, failed: ${failures}; hostile requests answered ${r.hostile}`,
        );
      } finally {
        await sb.stop();
      }
    }
  }
  console.log('');
}

if (require.main === module) {
  benchHeadOfLine(mkdtempSync(path.join(os.tmpdir(), 'mod_rest-bench-hol-')))
    .then(() => process.exit(0))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
