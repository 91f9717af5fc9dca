// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API under load, ours beside Prosody 13's mod_rest (the peer it is compatible
// with): HTTP Basic JSON message sends (POST /rest, 202) and iq round trips (GET
// /rest/ping/localhost, 200) at a few connection counts, the same wrk load on both in alternated
// rounds, medians of throughput and latency p50/p99 and their ratios, messages counted as they
// reach a real XMPP client on each server, CPU per request from /proc. Part of `make bench`
// (skipped, with the reason, where Prosody's sid chroot is missing); alone:
// `npx tsx scripts/bench-api.ts`. BENCH_API_ROUNDS, BENCH_API_SECONDS, BENCH_API_CONNECTIONS.
import { client, xml, type Client } from '@xmpp/client';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from './bench/stats';
import { cpuMicros, wrk } from './bench/wrk';
import { Prosody, prosodyTempDir, prosodyUnavailable, prosodyVersion } from './prosody';
import { ejabberdVersion, freePort, ROOT, Sandbox, sleep } from './sandbox';

const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 3);
const CONNECTIONS = (process.env.BENCH_API_CONNECTIONS ?? '1,16').split(',').map(Number);
const LUA = path.join(ROOT, 'scripts', 'bench', 'api.lua');
const SENDER: [string, string] = ['sender', 'sender-pw'];
const RECEIVER: [string, string] = ['receiver', 'receiver-pw'];
const AUTHORIZATION = `Basic ${Buffer.from(SENDER.join(':')).toString('base64')}`;

interface Server {
  label: 'prosody' | 'ours';
  url: string;
  c2sPort: number;
  /** Processes whose CPU a request costs: Prosody; ejabberd's VM and its worker. */
  pids: () => number[];
  receiver?: Receiver;
}

/** Counts the messages that reach the recipient, by tag (the part of the body before the first '-'). */
class Receiver {
  private readonly seen = new Map<string, number>();
  private constructor(private readonly xmpp: Client) {}

  static async login(c2sPort: number): Promise<Receiver> {
    const xmpp = client({ service: `xmpp://127.0.0.1:${c2sPort}`, domain: 'localhost', username: RECEIVER[0], password: RECEIVER[1], resource: 'bench' });
    xmpp.on('error', () => undefined);
    const r = new Receiver(xmpp);
    xmpp.on('stanza', (s) => {
      const tag = s.is('message') ? s.getChildText('body')?.split('-')[0] : undefined;
      if (tag) r.seen.set(tag, (r.seen.get(tag) ?? 0) + 1);
    });
    await xmpp.start();
    await xmpp.send(xml('presence'));
    return r;
  }

  /** Waits until `expected` messages of this tag arrived, or none arrived for 2 s; returns the count. */
  async delivered(tag: string, expected: number): Promise<number> {
    let last = -1;
    let idle = 0;
    for (;;) {
      const n = this.seen.get(tag) ?? 0;
      if (n >= expected || idle >= 20) return n;
      idle = n === last ? idle + 1 : 0;
      last = n;
      await sleep(100);
    }
  }

  stop(): Promise<void> {
    return this.xmpp.stop().then(() => undefined);
  }
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuUs: number;
  errors: number;
  acked: number;
  delivered?: number;
}

interface Scenario {
  name: string;
  connections: number;
  /** What a request must be answered with (checked once on each server before any load). */
  status: number;
  probe: (url: string) => Promise<Response>;
  args: (tag: string) => string[];
  sends: boolean;
}

const scenarios: Scenario[] = CONNECTIONS.flatMap((c): Scenario[] => [
  {
    name: `JSON message, POST /rest, ${c} connection${c === 1 ? '' : 's'}`,
    connections: c,
    status: 202,
    probe: (url) =>
      fetch(url, {
        method: 'POST',
        headers: { Authorization: AUTHORIZATION, 'Content-Type': 'application/json' },
        body: JSON.stringify({ kind: 'message', to: `${RECEIVER[0]}@localhost`, body: 'probe-0' }),
      }),
    args: (tag) => ['message', AUTHORIZATION, `${RECEIVER[0]}@localhost`, tag],
    sends: true,
  },
  {
    name: `iq round trip, GET /rest/ping/localhost, ${c} connection${c === 1 ? '' : 's'}`,
    connections: c,
    status: 200,
    probe: (url) => fetch(`${url}/ping/localhost`, { headers: { Authorization: AUTHORIZATION } }),
    args: () => ['ping', AUTHORIZATION],
    sends: false,
  },
]);

async function round(server: Server, scenario: Scenario, tag: string): Promise<Sample> {
  const cpu0 = cpuMicros(server.pids());
  const r = await wrk(server.url, scenario.connections, SECONDS, LUA, scenario.args(tag));
  const cpu = cpuMicros(server.pids()) - cpu0;
  const acked = r.requests - r.non2xx;
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    cpuUs: cpu / Math.max(1, r.requests),
    errors: r.non2xx + r.connect + r.read + r.write + r.timeout,
    acked,
    ...(scenario.sends ? { delivered: await server.receiver!.delivered(tag, acked) } : {}),
  };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export async function benchApi(base: string): Promise<void> {
  const why = prosodyUnavailable();
  console.log(`## the authenticated API: ours and Prosody's mod_rest, ${ROUNDS} alternated rounds of ${SECONDS} s; medians`);
  if (why) {
    console.log(`  skipped: ${why}\n`);
    return;
  }
  const users = [SENDER, RECEIVER];
  const prosodyDir = prosodyTempDir('mod_rest-bench-prosody-');
  const prosody = new Prosody({ dir: prosodyDir, c2sPort: await freePort(), httpPort: await freePort(), users, logLevel: 'warn' });
  const sandbox = new Sandbox({
    dir: path.join(base, 'ours-api'),
    c2sPort: await freePort(),
    httpPort: await freePort(),
    users,
    config: { modules: { mod_roster: {}, mod_disco: {}, mod_ping: {} }, loglevel: 'warning' },
  });
  const servers: Server[] = [];
  try {
    await Promise.all([prosody.start(), sandbox.start()]);
    servers.push(
      { label: 'prosody', url: prosody.restUrl, c2sPort: prosody.options.c2sPort, pids: () => (prosody.pid ? [prosody.pid] : []) },
      { label: 'ours', url: sandbox.restUrl, c2sPort: sandbox.options.c2sPort, pids: () => [...(sandbox.pid ? [sandbox.pid] : []), ...sandbox.workerPids()] },
    );
    for (const s of servers) s.receiver = await Receiver.login(s.c2sPort);
    console.log(`  Prosody ${prosodyVersion()} (Lua, one thread) and ejabberd ${ejabberdVersion()} with ours; CPU/request: Prosody's process, ejabberd's VM + worker`);
    for (const scenario of scenarios) {
      for (const s of servers) {
        const res = await scenario.probe(s.url);
        await res.text();
        if (res.status !== scenario.status) throw new Error(`${s.label}: ${scenario.name} answered ${res.status}, not ${scenario.status}`);
      }
    }
    // Warm-up, so that the first round is not penalised.
    for (const s of servers) await round(s, scenarios[0]!, `warm${s.label}`);

    for (const scenario of scenarios) {
      const samples: Record<Server['label'], Sample[]> = { prosody: [], ours: [] };
      for (let i = 0; i < ROUNDS; i++) {
        // Alternate which goes first, so drift in the machine's load hits both alike.
        for (const s of i % 2 === 0 ? servers : [...servers].reverse()) {
          samples[s.label].push(await round(s, scenario, `r${i}${s.label}${Math.random().toString(36).slice(2, 8)}`));
        }
      }
      const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => Number(x[k] ?? NaN)));
      const sum = (xs: Sample[], k: keyof Sample) => xs.reduce((a, x) => a + Number(x[k] ?? 0), 0);
      console.log(`### ${scenario.name}`);
      for (const label of ['prosody', 'ours'] as const) {
        const xs = samples[label];
        const delivered = scenario.sends ? `  delivered ${sum(xs, 'delivered')}/${sum(xs, 'acked')} acked` : '';
        console.log(
          `  ${label.padEnd(8)} ${fmt(m(xs, 'rps')).padStart(6)} req/s  p50 ${fmt(m(xs, 'p50'), 2)} ms  p99 ${fmt(m(xs, 'p99'), 2)} ms  CPU/request ${fmt(m(xs, 'cpuUs'))} us  errors ${sum(xs, 'errors')}${delivered}`,
        );
      }
      const [p, o] = [samples.prosody, samples.ours];
      const perRound = o.map((x, i) => fmt(x.rps / p[i]!.rps, 2)).join(' ');
      console.log(
        `  ours/prosody: throughput ${fmt(m(o, 'rps') / m(p, 'rps'), 2)}  p50 ${fmt(m(o, 'p50') / m(p, 'p50'), 2)}  p99 ${fmt(m(o, 'p99') / m(p, 'p99'), 2)}  per-round throughput ratios ${perRound}`,
      );
    }
    console.log('');
  } finally {
    for (const s of servers) await s.receiver?.stop().catch(() => undefined);
    await prosody.stop();
    await sandbox.stop();
    rmSync(prosodyDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const base = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-bench-api-'));
  benchApi(base)
    .then(() => rmSync(base, { recursive: true, force: true }))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
