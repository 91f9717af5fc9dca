// SPDX-License-Identifier: GPL-2.0-or-later
// Where the VM's time goes per request (issue 18, item 1): the original and ours, each in its own
// throwaway ejabberd, the same single-stanza wrk load as make bench (16 connections, a real XMPP
// client receiving), profiled with eprof over every process (set_on_spawn: the HTTP connections
// too). eprof's own cost inflates every figure several times over: compare the shares and the
// two modules' figures with each other, not with make bench's CPU per request.
// With PROFILE_WORKER=1 the worker of ours also writes a V8 CPU profile (--cpu-prof) into
// PROFILE_DIR, summarised by self time per function.
// PROFILE_MODE=keyed gives each request an Idempotency-Key (the load's other mode); PROFILE_ONLY=ours
// skips the original; PROFILE_OURS=DIR profiles another build in ours' place.
//   npx tsx scripts/profile-vm.ts        (PROFILE_SECONDS, PROFILE_TOP, PROFILE_MODE, PROFILE_ONLY)
import { client, xml } from '@xmpp/client';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ORIGINAL_TREE } from './compare-original';
import { wrk } from './bench/wrk';
import { freePort, ROOT, Sandbox, sleep } from './sandbox';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 4);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const WORKER = process.env.PROFILE_WORKER === '1';
const MODE = process.env.PROFILE_MODE ?? 'stanza';
const ONLY = process.env.PROFILE_ONLY as Which | undefined;
// PROFILE_OURS=DIR: another staged tree in ours' place (an experiment's build), as BENCH_OURS.
const OURS_TREE = process.env.PROFILE_OURS || undefined;
// PROFILE_TOOL=perf samples the VM's OS process with `perf record -e cpu-clock` instead of eprof
// (needs ERL_FLAGS='+JPperf true' for the JIT's symbols): real CPU, the emulator's own work
// (schedulers, GC, port I/O) included, nothing inflated.
const TOOL = process.env.PROFILE_TOOL ?? 'eprof';
const PERF_HZ = 2000;
const LOAD_LUA = path.join(ROOT, 'scripts', 'bench', 'load.lua');
const RECIPIENT = 'receiver@localhost';

type Which = 'original' | 'ours';

interface Row {
  fn: string;
  calls: number;
  us: number;
}

/** Node refuses --cpu-prof in NODE_OPTIONS: the worker is started through a wrapper (worker_executable). */
function profilingNode(base: string, cpuProfDir: string): string {
  const wrapper = path.join(base, 'node-cpu-prof');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} --cpu-prof --cpu-prof-dir=${cpuProfDir} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

async function node(which: Which, base: string, cpuProfDir: string): Promise<Sandbox> {
  const worker = which === 'ours' && WORKER ? { worker_executable: profilingNode(base, cpuProfDir) } : {};
  const sb = new Sandbox({
    dir: path.join(base, which),
    c2sPort: await freePort(),
    httpPort: await freePort(),
    users: [['receiver', 'receiver-pw']],
    modRest: which === 'ours' ? { allowed_ips: ['127.0.0.1'], access_commands: 'open', ...worker } : { allowed_ips: ['127.0.0.1'] },
    config: { modules: { mod_roster: {}, mod_disco: {} }, loglevel: 'warning' },
    distribution: true,
    ...(which === 'original' ? { moduleTree: ORIGINAL_TREE } : OURS_TREE ? { moduleTree: OURS_TREE } : {}),
  });
  await sb.start();
  return sb;
}

/** eprof's total analysis, as it logs it: "Mod:Fun/Arity  CALLS  %  TIME  [uS / CALLS]". */
function parseEprof(text: string): Row[] {
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^(\S+:\S+\/\d+)\s+(\d+)\s+[\d.]+\s+(\d+)\s+\[\s*[\d.]+\]/);
    if (m) rows.push({ fn: m[1]!, calls: Number(m[2]), us: Number(m[3]) });
  }
  return rows.sort((a, b) => b.us - a.us);
}

async function profile(which: Which, base: string, cpuProfDir: string): Promise<{ requests: number; rows: Row[] }> {
  const sb = await node(which, base, cpuProfDir);
  const xmpp = client({ service: `xmpp://127.0.0.1:${sb.options.c2sPort}`, domain: 'localhost', username: 'receiver', password: 'receiver-pw', resource: 'profile' });
  xmpp.on('error', () => undefined);
  try {
    await xmpp.start();
    await xmpp.send(xml('presence'));
    await wrk(sb.restUrl, 16, 2, LOAD_LUA, ['stanza', RECIPIENT, `warm-${which}`]);
    const args = [which === 'ours' ? MODE : 'stanza', RECIPIENT, `profile-${which}`];
    if (TOOL === 'perf' || TOOL === 'syscalls') return await perfProfile(sb, which, base, args);
    if (TOOL === 'eval') {
      // PROFILE_TOOL=eval: the load alone, then PROFILE_EVAL (an Erlang expression) on the node,
      // printed: for figures that instrumentation of one's own collected during the load.
      const r = await wrk(sb.restUrl, 16, SECONDS, LOAD_LUA, args);
      console.log(`${which}: ${r.requests} requests; ${process.env.PROFILE_EVAL} ->\n${await sb.rpc(process.env.PROFILE_EVAL ?? 'ok.')}`);
      return { requests: r.requests, rows: [] };
    }
    const log = path.join(base, `${which}.eprof`);
    await sb.rpc(`eprof:start(), profiling = eprof:start_profiling(erlang:processes(), {'_', '_', '_'}, [set_on_spawn]).`);
    const r = await wrk(sb.restUrl, 16, SECONDS, LOAD_LUA, args);
    await sb.rpc(`profiling_stopped = eprof:stop_profiling(), eprof:log("${log}"), eprof:analyze(total, [{sort, time}]), eprof:stop().`);
    return { requests: r.requests, rows: parseEprof(readFileSync(log, 'utf8')) };
  } finally {
    await xmpp.stop().catch(() => undefined);
    await sb.stop();
  }
}

/** perf's samples of the VM's process during the load, as µs of CPU per symbol (calls unknown: 0). */
async function perfProfile(sb: Sandbox, which: Which, base: string, args: string[]): Promise<{ requests: number; rows: Row[] }> {
  const pid = (await sb.rpc('os:getpid().')).replace(/[^0-9]/g, '');
  if (TOOL === 'syscalls') return await syscallProfile(sb, pid, args);
  const data = path.join(base, `${which}.perf`);
  // PROFILE_CALLGRAPH=1: frame-pointer call graphs too (the JIT keeps frame pointers under
  // +JPperf true), for `perf report --children -i` on the kept data (PROFILE_KEEP=1).
  const graph = process.env.PROFILE_CALLGRAPH === '1' ? ['--call-graph', 'fp'] : [];
  const recorded = perfDuringLoad(['record', '-q', '-e', 'cpu-clock', '-F', String(PERF_HZ), ...graph, '-p', pid, '-o', data]);
  const r = await wrk(sb.restUrl, 16, SECONDS, LOAD_LUA, args);
  await recorded;
  const report = spawnSync('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'dso,sym', '-F', 'sample,dso,sym'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const rows: Row[] = [];
  for (const line of report.stdout.split('\n')) {
    // "  1234  beam.smp  [.] erts_schedule": JIT code is named "$Module:Function/Arity" in perf-PID.map.
    const m = line.match(/^\s+(\d+)\s+(.+?)\s+\[.\]\s+(.+?)\s*$/);
    if (!m) continue;
    const [, samples, dso, sym] = m as unknown as [string, string, string, string];
    const fn = sym.startsWith('$') && sym.includes(':') ? sym.slice(1).replace(/-CodeInfoPrologue$/, '') : `${dso.replace(/:/g, '.')}:${sym}`;
    rows.push({ fn: fn.replace(/\|/g, '/'), calls: 0, us: (Number(samples) * 1e6) / PERF_HZ });
  }
  return { requests: r.requests, rows: rows.sort((a, b) => b.us - a.us) };
}

/** `perf ARGS -- sleep SECONDS`, started with the load and lasting as long; what it wrote to stderr. */
function perfDuringLoad(args: string[]): Promise<string> {
  const child = spawn('perf', [...args, '--', 'sleep', String(SECONDS)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  return new Promise<string>((resolve) => child.once('exit', () => resolve(out)));
}

/** The events PROFILE_TOOL=syscalls counts, in the kernel (cheap: the load runs at full speed). */
const COUNTED = ['read', 'write', 'writev', 'recvfrom', 'epoll_wait', 'futex', 'sched_yield', 'getpeername'];

/**
 * PROFILE_TOOL=syscalls: system calls, page faults and context switches per request, of the VM and
 * of the worker apart (`perf stat` on tracepoints). Fewer requests per wake-up show as more calls.
 */
async function syscallProfile(sb: Sandbox, pid: string, args: string[]): Promise<{ requests: number; rows: Row[] }> {
  const events = [...COUNTED.map((c) => `syscalls:sys_enter_${c}`), 'page-faults', 'context-switches'].join(',');
  const worker = sb.workerPids()[0];
  const stat = (p: string | number) => perfDuringLoad(['stat', '-x', ',', '-e', events, '-p', String(p)]);
  const stats = Promise.all([stat(pid), worker === undefined ? Promise.resolve('') : stat(worker)]);
  const r = await wrk(sb.restUrl, 16, SECONDS, LOAD_LUA, args);
  const [vm, wk] = await stats;
  const rows: Row[] = [];
  for (const [who, out] of [['vm', vm], ['worker', wk]] as const) {
    for (const line of out.split('\n')) {
      const m = line.match(/^(\d+),[^,]*,(?:syscalls:sys_enter_)?([\w-]+)/);
      if (m) rows.push({ fn: `${who}:${m[2]!}`, calls: Number(m[1]), us: 0 });
    }
  }
  return { requests: r.requests, rows };
}

function byModule(rows: Row[]): Row[] {
  const m = new Map<string, Row>();
  for (const r of rows) {
    const mod = r.fn.split(':')[0]!;
    const acc = m.get(mod) ?? { fn: mod, calls: 0, us: 0 };
    acc.calls += r.calls;
    acc.us += r.us;
    m.set(mod, acc);
  }
  return [...m.values()].sort((a, b) => b.us - a.us);
}

/** What each tool measures, for the report's headings. */
const MEASURED: Record<string, string> = {
  eprof: 'eprof over every process of the VM',
  perf: "perf's CPU samples of the VM's OS process",
  syscalls: 'system calls, page faults and context switches of the VM and the worker (perf stat)',
};

function table(title: string, rows: Row[], requests: number, total: number): void {
  console.log(`\n### ${title}\n`);
  if (TOOL === 'syscalls') {
    // Counts only: nothing timed.
    console.log('| event | per request |\n|---|---:|');
    for (const r of rows.slice(0, TOP)) console.log(`| \`${r.fn}\` | ${(r.calls / requests).toFixed(2)} |`);
    return;
  }
  const us = TOOL === 'perf' ? 'µs/request (CPU)' : 'µs/request (under eprof)';
  console.log(`| function | calls/request | ${us} | share |`);
  console.log('|---|---:|---:|---:|');
  for (const r of rows.slice(0, TOP)) {
    console.log(`| \`${r.fn}\` | ${(r.calls / requests).toFixed(1)} | ${(r.us / requests).toFixed(1)} | ${((100 * r.us) / total).toFixed(1)} % |`);
  }
}

/** A V8 .cpuprofile summarised by self time per function (url:line name). */
function cpuProfileRows(file: string): { rows: Row[]; totalUs: number; idleUs: number } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const dt = prof.timeDeltas[i] ?? 0;
    const name = n.callFrame.functionName || '(anonymous)';
    // Waiting for frames, not working: the worker reads its pipe with a blocking readSync (stdio.ts).
    if (name === '(idle)' || (name === 'read' && !n.callFrame.url)) {
      idleUs += dt;
      return;
    }
    const where = n.callFrame.url ? `${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '';
    const key = where ? `${name} ${where}` : name;
    self.set(key, (self.get(key) ?? 0) + dt);
    totalUs += dt;
  });
  return { rows: [...self.entries()].map(([fn, us]) => ({ fn, calls: 0, us })).sort((a, b) => b.us - a.us), totalUs, idleUs };
}

async function main(): Promise<void> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-profile-'));
  const cpuProfDir = process.env.PROFILE_DIR ?? path.join(base, 'cpuprof');
  mkdirSync(cpuProfDir, { recursive: true });
  try {
    const profiled = ONLY ? [ONLY] : (['original', 'ours'] as const);
    const results: Partial<Record<Which, { requests: number; rows: Row[] }>> = {};
    for (const which of profiled) results[which] = await profile(which, base, cpuProfDir);
    // PROFILE_TOOL=eval printed its answers as it went.
    if (TOOL !== 'eval') console.log(`${MEASURED[TOOL] ?? TOOL}, ${SECONDS} s of 16 connections posting single stanzas (make bench's load; ours: ${MODE})`);
    for (const which of TOOL === 'eval' ? [] : profiled) {
      const { requests, rows } = results[which]!;
      const total = rows.reduce((a, r) => a + r.us, 0);
      console.log(`\n## ${which}: ${requests} requests${TOOL === 'syscalls' ? '' : `, ${(total / requests).toFixed(0)} µs/request traced`}`);
      table(`${which}, by module`, byModule(rows), requests, total);
      table(`${which}, by function`, rows, requests, total);
    }
    if (WORKER) {
      await sleep(500);
      const files = readdirSync(cpuProfDir).filter((f) => f.endsWith('.cpuprofile'));
      for (const f of files) {
        const { rows, totalUs, idleUs } = cpuProfileRows(path.join(cpuProfDir, f));
        console.log(
          `\n## worker --cpu-prof ${f}: ${(totalUs / 1000).toFixed(0)} ms working, ${(idleUs / 1000).toFixed(0)} ms blocked reading its pipe (warm-up and profiled load together)`,
        );
        console.log('\n| function | self ms | share |');
        console.log('|---|---:|---:|');
        for (const r of rows.slice(0, TOP)) console.log(`| \`${r.fn}\` | ${(r.us / 1000).toFixed(1)} | ${((100 * r.us) / totalUs).toFixed(1)} % |`);
      }
    }
  } finally {
    if (!process.env.PROFILE_KEEP) rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
