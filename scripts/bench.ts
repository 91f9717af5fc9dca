// SPDX-License-Identifier: GPL-2.0-or-later
// `make bench`: the original contrib mod_rest and ours, each in its own throwaway ejabberd with
// the same configuration, driven by the same wrk load in alternated rounds (A B A B ...).
// A real XMPP client logged in as the recipient on each node counts what arrives.
// Prints per scenario: requests/s, p50/p99, ours/original ratios, delivered vs acknowledged,
// and memory (worker RSS, VM RSS). Quote medians; this machine is noisy.
import { client, xml, type Client } from '@xmpp/client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ORIGINAL_TREE, send } from './compare-original';
import { benchApi } from './bench-api';
import { benchAuthTiming } from './bench-auth';
import { benchHeadOfLine } from './bench-hol';
import { benchWebhooks } from './bench-webhooks';
import { benchWorker } from './bench-worker';
import { median } from './bench/stats';
import { cpuMicros, wrk, type WrkResult } from './bench/wrk';
import { freePort, ROOT, Sandbox, sleep } from './sandbox';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
/** BENCH_ONLY=command: the scenarios whose name matches, and nothing else (for a quick A/B). */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
/**
 * BENCH_BASELINE=DIR (a staged module tree, e.g. another checkout's _build/mod_rest): run it in
 * the original's place, with ours' options, for an A/B of two versions of ours in one run.
 */
const BASELINE = process.env.BENCH_BASELINE || undefined;
/**
 * BENCH_OURS=DIR: run another module tree in ours' place, e.g. the design's floor
 * (`make floor`: _build/floor/mod_rest, scripts/bench/floor/), against the original.
 */
const OURS_TREE = process.env.BENCH_OURS || undefined;
/** BENCH_EXTRA='{"idempotency_max_keys": 2000}': more mod_rest options for ours (JSON), for experiments. */
const EXTRA_OPTIONS = JSON.parse(process.env.BENCH_EXTRA ?? '{}') as Record<string, unknown>;
const LOAD_LUA = path.join(ROOT, 'scripts', 'bench', 'load.lua');
const RECIPIENT = 'receiver@localhost';

type Which = 'original' | 'ours';

interface Node {
  which: Which;
  sandbox: Sandbox;
  receiver: Receiver;
}

/** Counts the messages that reach the recipient, by body, to see losses and duplicates. */
class Receiver {
  private readonly seen = new Map<string, number>();
  private constructor(private readonly xmpp: Client) {}

  static async login(sb: Sandbox): Promise<Receiver> {
    const xmpp = client({ service: `xmpp://127.0.0.1:${sb.options.c2sPort}`, domain: 'localhost', username: 'receiver', password: 'receiver-pw', resource: 'bench' });
    xmpp.on('error', () => undefined);
    const r = new Receiver(xmpp);
    xmpp.on('stanza', (s) => {
      if (!s.is('message')) return;
      const body = s.getChildText('body');
      if (body) r.seen.set(body, (r.seen.get(body) ?? 0) + 1);
    });
    await xmpp.start();
    await xmpp.send(xml('presence'));
    return r;
  }

  /** Distinct bodies with this tag, and how many arrived more than once. */
  count(tag: string): { delivered: number; duplicated: number } {
    let delivered = 0;
    let duplicated = 0;
    for (const [body, n] of this.seen) {
      if (!body.startsWith(`${tag}-`)) continue;
      delivered++;
      if (n > 1) duplicated++;
    }
    return { delivered, duplicated };
  }

  forget(tag: string): void {
    for (const body of this.seen.keys()) if (body.startsWith(`${tag}-`)) this.seen.delete(body);
  }

  stop(): Promise<void> {
    return this.xmpp.stop().then(() => undefined);
  }
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The beam.smp of a sandbox: `erl` execs it, so it is the process spawn() started. */
function vmRss(node: Node): number {
  return rssMiB(node.sandbox.pid);
}

function workerRss(node: Node): number {
  const [pid] = node.sandbox.workerPids();
  return rssMiB(pid);
}

async function waitDelivered(node: Node, tag: string, expected: number, idleMs = 2000): Promise<{ delivered: number; duplicated: number }> {
  // Stop waiting once nothing new arrived for idleMs.
  let last = -1;
  let still = 0;
  for (;;) {
    const c = node.receiver.count(tag);
    if (c.delivered >= expected) return c;
    if (c.delivered === last) {
      if (++still >= idleMs / 100) return c;
    } else {
      still = 0;
      last = c.delivered;
    }
    await sleep(100);
  }
}

/** Where a round's CPU went: the VM's and the worker's time per request, from /proc. */
async function measured(node: Node, run: () => Promise<WrkResult>): Promise<{ r: WrkResult; vmUs: number; workerUs: number }> {
  const [worker] = node.sandbox.workerPids();
  const vm0 = cpuMicros([node.sandbox.pid]);
  const w0 = cpuMicros([worker]);
  const r = await run();
  const n = Math.max(1, r.requests);
  return { r, vmUs: (cpuMicros([node.sandbox.pid]) - vm0) / n, workerUs: (cpuMicros([worker]) - w0) / n };
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  acked: number;
  /** CPU per request: the VM's, and the worker's (0 for the original, which has none). */
  vmUs?: number;
  workerUs?: number;
  delivered?: number;
  duplicated?: number;
  errors: number;
}

/** `keyed`: each request with an Idempotency-Key of its own (mod_rest_idempotency's cost). */
async function stanzaRound(node: Node, connections: number, tag: string, mode: 'stanza' | 'keyed' = 'stanza'): Promise<Sample> {
  const { r, vmUs, workerUs } = await measured(node, () => wrk(node.sandbox.restUrl, connections, SECONDS, LOAD_LUA, [mode, RECIPIENT, tag]));
  const acked = r.requests - r.non2xx;
  const { delivered, duplicated } = await waitDelivered(node, tag, acked);
  node.receiver.forget(tag);
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    acked,
    delivered,
    duplicated,
    vmUs,
    workerUs,
    errors: r.non2xx + r.connect + r.read + r.write + r.timeout,
  };
}

const BATCH_SIZE = 100;
const SENDER_AUTH = `Basic ${Buffer.from('sender:sender-pw').toString('base64')}`;

/**
 * Ours only: batches of BATCH_SIZE messages (a JSON array, the authenticated API) per request;
 * the Sample counts messages, not requests, and its CPU is per message.
 */
async function batchRound(node: Node, connections: number, tag: string): Promise<Sample> {
  const { r, vmUs, workerUs } = await measured(node, () =>
    wrk(node.sandbox.restUrl, connections, SECONDS, LOAD_LUA, ['batch', RECIPIENT, tag, String(BATCH_SIZE), SENDER_AUTH]),
  );
  const acked = (r.requests - r.non2xx) * BATCH_SIZE;
  const { delivered, duplicated } = await waitDelivered(node, tag, acked);
  node.receiver.forget(tag);
  return {
    rps: (r.requests * BATCH_SIZE) / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    acked,
    delivered,
    duplicated,
    vmUs: vmUs / BATCH_SIZE,
    workerUs: workerUs / BATCH_SIZE,
    errors: r.non2xx + r.connect + r.read + r.write + r.timeout,
  };
}

async function commandRound(node: Node, connections: number): Promise<Sample> {
  const { r, vmUs, workerUs } = await measured(node, () => wrk(node.sandbox.restUrl, connections, SECONDS, LOAD_LUA, ['command', 'registered_users', 'localhost']));
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    acked: r.requests - r.non2xx,
    vmUs,
    workerUs,
    errors: r.non2xx + r.connect + r.read + r.write + r.timeout,
  };
}

async function bigStanzaRound(node: Node, bytes: number, tag: string): Promise<Sample> {
  const text = 'x'.repeat(bytes);
  const started = process.hrtime.bigint();
  const answer = await send(node.sandbox.restUrl, { body: `<message to="${RECIPIENT}" from="localhost/bench"><body>${tag}-${text}</body></message>` });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const acked = answer.status === 200 ? 1 : 0;
  // A 10 MiB message takes the receiving client seconds to parse.
  const { delivered, duplicated } = await waitDelivered(node, tag, acked, 20_000);
  node.receiver.forget(tag);
  return { rps: 1000 / ms, p50: ms, p99: ms, acked, delivered, duplicated, errors: acked ? 0 : 1 };
}


interface Scenario {
  name: string;
  run: (node: Node, tag: string) => Promise<Sample>;
  /** Big single requests compare latency, not throughput. */
  latencyOnly?: boolean;
  /** What `rps` counts, when not requests (a batch's messages). */
  unit?: string;
  /** Only with BENCH_BASELINE: two builds of ours side by side. */
  baselineOnly?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'stanza, 16 connections', run: (n, tag) => stanzaRound(n, 16, tag) },
  { name: 'stanza, 256 connections', run: (n, tag) => stanzaRound(n, 256, tag) },
  { name: 'command, 16 connections', run: (n) => commandRound(n, 16) },
  // Issue 18's target: one client's messages/s with batches of 100 at least 3x the original's
  // single-stanza rate; latencies are per request (a batch against one stanza), CPU per message.
  {
    name: `batch of ${BATCH_SIZE} (ours) against single stanzas (original), 16 connections`,
    run: (n, tag) => (n.which === 'ours' && !BASELINE ? batchRound(n, 16, tag) : stanzaRound(n, 16, tag)),
    unit: 'msg/s',
  },
  // A change to mod_rest_idempotency against the build before it: each request with a key of its own.
  { name: 'keyed stanza, 16 connections', run: (n, tag) => stanzaRound(n, 16, tag, 'keyed'), baselineOnly: true },
  { name: 'stanza of 1 MiB', run: (n, tag) => bigStanzaRound(n, 1 << 20, tag), latencyOnly: true },
  { name: 'stanza of 10 MiB', run: (n, tag) => bigStanzaRound(n, 10 << 20, tag), latencyOnly: true },
];

async function startNode(which: Which, base: string): Promise<Node> {
  const sandbox = new Sandbox({
    dir: path.join(base, which),
    c2sPort: await freePort(),
    httpPort: await freePort(),
    users: [['receiver', 'receiver-pw'], ['sender', 'sender-pw']],
    // Ours runs commands without credentials, as the original does: the same work on both.
    modRest: which === 'ours' || BASELINE ? { allowed_ips: ['127.0.0.1'], access_commands: 'open', ...EXTRA_OPTIONS } : { allowed_ips: ['127.0.0.1'] },
    // The module under test, not the archive: no mod_mam on either node.
    config: { modules: { mod_roster: {}, mod_disco: {} }, loglevel: 'warning' },
    ...(which === 'original' ? { moduleTree: BASELINE ?? ORIGINAL_TREE } : OURS_TREE ? { moduleTree: OURS_TREE } : {}),
  });
  await sandbox.start();
  const receiver = await Receiver.login(sandbox);
  return { which, sandbox, receiver };
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-bench-'));
  const nodes: Node[] = [];
  try {
    nodes.push(await startNode('original', base), await startNode('ours', base));
    const [original, ours] = nodes as [Node, Node];
    console.log(`bench: ${ROUNDS} alternated rounds of ${SECONDS} s per scenario; medians shown\n`);
    if (BASELINE) console.log(`"original" below is the baseline tree ${BASELINE}, run with ours' options\n`);
    if (OURS_TREE) console.log(`"ours" below is the tree ${OURS_TREE}\n`);

    // Warm-up: both nodes, a short stanza load, so the first round is not penalised.
    for (const n of nodes) await stanzaRound(n, 16, `warm-${n.which}`);

    const results: Array<{ scenario: Scenario; o: Sample[]; u: Sample[] }> = [];
    for (const scenario of SCENARIOS.filter((s) => (ONLY === null || ONLY.test(s.name)) && (BASELINE || !s.baselineOnly))) {
      const o: Sample[] = [];
      const u: Sample[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so drift in the machine's load hits both alike.
        const order = round % 2 === 0 ? [original, ours] : [ours, original];
        for (const node of order) {
          const sample = await scenario.run(node, `r${round}-${node.which}-${Math.random().toString(36).slice(2, 8)}`);
          (node === original ? o : u).push(sample);
        }
      }
      results.push({ scenario, o, u });
      const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => Number(x[k] ?? NaN)));
      const sum = (xs: Sample[], k: keyof Sample) => xs.reduce((a, x) => a + Number(x[k] ?? 0), 0);
      console.log(`## ${scenario.name}`);
      for (const [label, xs] of [['original', o], ['ours', u]] as const) {
        const delivered = xs[0]!.delivered === undefined ? '' : `  delivered ${sum(xs, 'delivered')}/${sum(xs, 'acked')} acked, ${sum(xs, 'duplicated')} duplicated`;
        const cpu = xs[0]!.vmUs === undefined ? '' : `  CPU/${scenario.unit === undefined ? 'request' : 'message'} VM ${fmt(m(xs, 'vmUs'))} us + worker ${fmt(m(xs, 'workerUs'))} us`;
        console.log(
          `  ${label.padEnd(8)} ${scenario.latencyOnly ? '' : `${fmt(m(xs, 'rps')).padStart(6)} ${scenario.unit ?? 'req/s'}  `}p50 ${fmt(m(xs, 'p50'), 2)} ms  p99 ${fmt(m(xs, 'p99'), 2)} ms  errors ${sum(xs, 'errors')}${delivered}${cpu}`,
        );
      }
      const ratio = scenario.latencyOnly
        ? `latency ours/original ${fmt(m(u, 'p50') / m(o, 'p50'), 2)}`
        : `throughput ours/original ${fmt(m(u, 'rps') / m(o, 'rps'), 2)}  p99 ours/original ${fmt(m(u, 'p99') / m(o, 'p99'), 2)}`;
      const perRound = u.map((x, i) => fmt(scenario.latencyOnly ? x.p50 / o[i]!.p50 : x.rps / o[i]!.rps, 2));
      console.log(`  ${ratio}  per-round ratios ${perRound.join(' ')}`);
      console.log(`  memory: worker RSS ${fmt(workerRss(ours))} MiB, VM RSS ours ${fmt(vmRss(ours))} MiB, original ${fmt(vmRss(original))} MiB\n`);
    }

    if (ONLY === null || ONLY.test(KEY_COST)) await keyCost(ours);
    if (ONLY !== null) return; // a chosen scenario alone
    if (SOAK_SECONDS > 0) await soak(ours);
    await burst(ours);
    await benchWorker();
    await benchAuthTiming(base);
    await benchHeadOfLine(base);
    await benchApi(base);
    await benchWebhooks(base);
  } finally {
    for (const n of nodes) {
      await n.receiver.stop().catch(() => undefined);
      await n.sandbox.stop();
    }
    rmSync(base, { recursive: true, force: true });
  }
}

const KEY_COST = 'idempotency key on the send path, 16 connections';

/**
 * The cost of an Idempotency-Key: the same stanza load on our node without a key and with a key
 * of its own per request (claimed in a Mnesia transaction, the answer kept), in alternated rounds.
 * Alone: `BENCH_ONLY=idempotency make bench`.
 */
async function keyCost(node: Node): Promise<void> {
  const samples = { stanza: [] as Sample[], keyed: [] as Sample[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['stanza', 'keyed'] as const) : (['keyed', 'stanza'] as const);
    for (const mode of order) samples[mode].push(await stanzaRound(node, 16, `k${round}-${mode}-${Math.random().toString(36).slice(2, 8)}`, mode));
  }
  const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => Number(x[k] ?? NaN)));
  const sum = (xs: Sample[], k: keyof Sample) => xs.reduce((a, x) => a + Number(x[k] ?? 0), 0);
  console.log(`## ${KEY_COST}: ours without and with a key`);
  for (const [label, xs] of [['no key', samples.stanza], ['key', samples.keyed]] as const) {
    console.log(
      `  ${label.padEnd(8)} ${fmt(m(xs, 'rps')).padStart(6)} req/s  p50 ${fmt(m(xs, 'p50'), 2)} ms  p99 ${fmt(m(xs, 'p99'), 2)} ms  errors ${sum(xs, 'errors')}` +
        `  delivered ${sum(xs, 'delivered')}/${sum(xs, 'acked')} acked, ${sum(xs, 'duplicated')} duplicated  CPU/request VM ${fmt(m(xs, 'vmUs'))} us + worker ${fmt(m(xs, 'workerUs'))} us`,
    );
  }
  const perRound = samples.keyed.map((x, i) => fmt(x.rps / samples.stanza[i]!.rps, 2));
  console.log(`  throughput key/no key ${fmt(m(samples.keyed, 'rps') / m(samples.stanza, 'rps'), 2)}  p99 key/no key ${fmt(m(samples.keyed, 'p99') / m(samples.stanza, 'p99'), 2)}  per-round ratios ${perRound.join(' ')}\n`);
}

/** Worker RSS every 5 s during a minute at 256 connections: must stay flat. */
async function soak(node: Node): Promise<void> {
  console.log(`## soak: ours, stanzas at 256 connections for ${SOAK_SECONDS} s`);
  const samples: string[] = [];
  const tag = `soak-${Date.now()}`;
  const load = wrk(node.sandbox.restUrl, 256, SOAK_SECONDS, LOAD_LUA, ['stanza', RECIPIENT, tag]);
  const sampler = (async () => {
    for (let t = 0; t <= SOAK_SECONDS; t += 5) {
      samples.push(`${t}s ${fmt(workerRss(node))}`);
      await sleep(5000);
    }
  })();
  const r = await load;
  await sampler;
  const acked = r.requests - r.non2xx;
  const { delivered, duplicated } = await waitDelivered(node, tag, acked);
  node.receiver.forget(tag);
  console.log(`  ${fmt(r.requests / (r.duration_us / 1e6))} req/s; delivered ${delivered}/${acked} acked, ${duplicated} duplicated`);
  console.log(`  worker RSS MiB: ${samples.join(', ')}\n`);
}

/** 1024 connections at once: what is answered how, and memory before, during and after. */
async function burst(node: Node): Promise<void> {
  console.log('## burst: ours, 1024 connections for 5 s');
  const before = `worker ${fmt(workerRss(node))} MiB, VM ${fmt(vmRss(node))} MiB`;
  const tag = `burst-${Date.now()}`;
  const load = wrk(node.sandbox.restUrl, 1024, 5, LOAD_LUA, ['stanza', RECIPIENT, tag]);
  await sleep(2500);
  const during = `worker ${fmt(workerRss(node))} MiB, VM ${fmt(vmRss(node))} MiB`;
  const r = await load;
  const acked = r.requests - r.non2xx;
  const { delivered, duplicated } = await waitDelivered(node, tag, acked);
  node.receiver.forget(tag);
  await sleep(2000);
  const after = `worker ${fmt(workerRss(node))} MiB, VM ${fmt(vmRss(node))} MiB`;
  console.log(`  ${r.requests} answered: ${acked} 2xx, ${r.non2xx} non-2xx; socket errors connect ${r.connect} read ${r.read} write ${r.write} timeout ${r.timeout}`);
  console.log(`  delivered ${delivered}/${acked} acked, ${duplicated} duplicated; p50 ${fmt(r.p50_us / 1000, 2)} ms p99 ${fmt(r.p99_us / 1000, 2)} ms`);
  console.log(`  memory before: ${before}; during: ${during}; after: ${after}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
