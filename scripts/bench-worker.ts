// SPDX-License-Identifier: GPL-2.0-or-later
// The worker alone, without ejabberd: where its time goes per request.
//   1. Over pipes, as the port drives it (one write per request, 16 in flight): the built worker's
//      CPU per request against the I/O floor (scripts/bench/floor-worker.js: the same frame loop,
//      answering without decoding or parsing). The difference is the worker's work proper.
//   2. In process, per stage: ETF decode (erlang_js), the pipeline (checks and XML parse), the
//      reply encode (our writer), and erlang_js's encoder on the same reply for comparison.
// The built JavaScript is measured (priv/worker), not the TypeScript sources through tsx.
// Run by `make bench` after the side-by-side scenarios; alone: npx tsx scripts/bench-worker.ts
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { median } from './bench/stats';
import { ROOT } from './sandbox';

type Etf = typeof import('../src/port/etf');
type Writer = typeof import('../src/port/etf-writer');
type Protocol = typeof import('../src/port/protocol');
type Pipeline = typeof import('../src/rest/pipeline');
type Framing = typeof import('../src/port/framing');

const BUILT = path.join(ROOT, 'priv', 'worker');
const load = <T>(file: string): T => require(path.join(BUILT, file)) as T;
const etf = load<Etf>('port/etf.js');
const writer = load<Writer>('port/etf-writer.js');
const protocol = load<Protocol>('port/protocol.js');
const pipeline = load<Pipeline>('rest/pipeline.js');
const framing = load<Framing>('port/framing.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IN_FLIGHT = 16;
const REQUESTS = 100_000;
const WARM_UP = 20_000;
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'etf');

// Erlang's own bytes for a request and for a host's configuration (the golden frames), with the
// request's id and body replaced: the id as an INTEGER_EXT, where floor-worker.js reads it.
const TEMPLATE = readFileSync(path.join(FIXTURES, 'to-worker-request-post-v2.etf'));
const TEMPLATE_BODY = Buffer.from("<message to='nolan@localhost' from='localhost/rest'><body>World</body></message>");
const CONFIG = readFileSync(path.join(FIXTURES, 'to-worker-config-v2.etf'));

function requestTerm(id: number): Buffer {
  const at = TEMPLATE.indexOf(TEMPLATE_BODY);
  const idAt = 12; // after 131, {3-tuple, and the atom `request`; the template's id is SMALL_INTEGER_EXT 42
  const body = Buffer.from(`<message to="nolan@localhost" from="localhost/bench"><body>bench-${id}</body></message>`);
  const id32 = Buffer.alloc(5);
  id32[0] = 98;
  id32.writeInt32BE(id, 1);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([TEMPLATE.subarray(0, idAt), id32, TEMPLATE.subarray(idAt + 2, at - 4), length, body, TEMPLATE.subarray(at + TEMPLATE_BODY.length)]);
}

function cpuTicks(pid: number): { total: number; system: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { total: Number(f[11]) + Number(f[12]), system: Number(f[12]) };
}

/** Drives one worker process as the port does; returns its CPU per request (us) and req/s. */
function overPipes(script: string): Promise<{ us: number; systemUs: number; rate: number }> {
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reader = new framing.FrameReader();
  let sent = 0;
  let answered = 0;
  let ready = false;
  let started = 0;
  let before = { total: 0, system: 0 };
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    const refill = (): void => {
      while (sent - answered < IN_FLIGHT && sent < WARM_UP + REQUESTS) child.stdin.write(framing.frame(requestTerm(++sent)));
    };
    child.stdout.on('data', (chunk: Buffer) => {
      for (const payload of reader.push(chunk)) {
        const term = etf.decode(payload) as InstanceType<Etf['Tuple']>;
        const tag = String(term.items[0]);
        if (tag === 'hello') {
          ready = true;
          child.stdin.write(framing.frame(CONFIG));
          continue;
        }
        if (tag !== 'reply') continue; // log lines
        if (++answered === WARM_UP) {
          started = performance.now();
          before = cpuTicks(child.pid!);
        }
        if (answered === WARM_UP + REQUESTS) {
          const after = cpuTicks(child.pid!);
          const seconds = (performance.now() - started) / 1000;
          child.stdin.end();
          resolve({
            us: ((after.total - before.total) * 1e4) / REQUESTS,
            systemUs: ((after.system - before.system) * 1e4) / REQUESTS,
            rate: REQUESTS / seconds,
          });
          return;
        }
      }
      if (ready) refill();
    });
  });
}

/** Microseconds per call of fn, the median of 5 timed batches. */
function perCall(fn: (i: number) => unknown, calls = 50_000): number {
  const batches: number[] = [];
  for (let b = 0; b < 6; b++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn(i);
    if (b > 0) batches.push(((performance.now() - t0) * 1000) / calls); // the first warms up the JIT
  }
  return median(batches);
}


function inProcess(): Record<string, number> {
  const requests = Array.from({ length: 1024 }, (_, i) => requestTerm(i + 1));
  const policy = pipeline.compilePolicy({ allowedIps: ['127.0.0.1/32', '::1/128'], allowedDestinations: ['nolan@localhost'], allowedStanzaTypes: [], allowedSenders: ['localhost'] });
  const parsed = requests.map((r) => protocol.parseInbound(etf.decode(r)) as Extract<ReturnType<Protocol['parseInbound']>, { type: 'request' }>);
  const replies = parsed.map((m) => protocol.replyFrame(m.id, pipeline.handleRequest(m.request, policy)));
  const { Erlang } = require('erlang_js') as typeof import('erlang_js');
  const viaErlangJs = (term: unknown): unknown => {
    if (term instanceof etf.Atom) return new Erlang.OtpErlangAtom(term.name);
    if (term instanceof etf.Tuple) return term.items.map(viaErlangJs);
    if (typeof term === 'string') return new Erlang.OtpErlangBinary(Buffer.from(term, 'utf8'));
    if (Array.isArray(term)) return new Erlang.OtpErlangList(term.map(viaErlangJs));
    return term;
  };
  return {
    'ETF decode (erlang_js)': perCall((i) => protocol.parseInbound(etf.decode(requests[i & 1023]!))),
    'checks + XML parse': perCall((i) => pipeline.handleRequest(parsed[i & 1023]!.request, policy)),
    'reply encode (our writer)': perCall((i) => writer.encodeFrame(replies[i & 1023]!)),
    "reply encode (erlang_js's, not used)": perCall((i) => Erlang.term_to_binary(viaErlangJs(replies[i & 1023]!), () => undefined)),
  };
}

export async function benchWorker(): Promise<void> {
  console.log(`## worker alone (no ejabberd): ${IN_FLIGHT} requests in flight over pipes, ${REQUESTS} stanzas a round, ${ROUNDS} rounds`);
  const full: Array<{ us: number; systemUs: number; rate: number }> = [];
  const floor: Array<{ us: number; systemUs: number; rate: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    full.push(await overPipes(path.join(BUILT, 'main.js')));
    floor.push(await overPipes(path.join(ROOT, 'scripts', 'bench', 'floor-worker.js')));
  }
  const show = (label: string, xs: typeof full): void =>
    console.log(`  ${label.padEnd(34)} CPU ${median(xs.map((x) => x.us)).toFixed(1)} us/request (system ${median(xs.map((x) => x.systemUs)).toFixed(1)}), ${median(xs.map((x) => x.rate)).toFixed(0)} req/s`);
  show('worker', full);
  show('I/O floor (frames in, "Ok" out)', floor);
  console.log('  in process, per request:');
  for (const [stage, us] of Object.entries(inProcess())) console.log(`    ${stage.padEnd(38)} ${us.toFixed(2)} us`);
  console.log('');
}

if (require.main === module) {
  benchWorker().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
