// SPDX-License-Identifier: GPL-2.0-or-later
// What a refused request costs (security issue 16, item 3): a 19 MB JSON body of 650,000 small
// objects with junk credentials (`Authorization: Basic eDp5`, "x:y"), once and then three in
// parallel, against a throwaway ejabberd with this tree's mod_rest. Prints each answer's status
// and time, the VM's memory (erlang:memory(total) and the beam's RSS) before, at its peak, and
// after, and the heaps of the processes that touched the body (the port owner and its writer).
// Alone: `npx tsx scripts/probe-big-json.ts` (about a minute; PROBE_SETTLE_SECONDS to change the
// wait before the last sample, default 20; PROBE_MODULE_TREE=dir to probe another build, e.g. main's
// _build/mod_rest, for the figures before a change).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, Sandbox, sleep } from './sandbox';

const OBJECTS = 650_000;
const SETTLE_SECONDS = Number(process.env.PROBE_SETTLE_SECONDS ?? 20);

/** {"to": ..., "items": [{"jid": "u0000001@localhost.example"}, ...]}: ~19 MB. */
function bigJson(): Buffer {
  const items = Array.from({ length: OBJECTS }, (_, i) => `{"jid":"u${String(i).padStart(7, '0')}@localhost.ex"}`);
  return Buffer.from(`{"kind":"iq","to":"localhost","items":[${items.join(',')}]}`);
}

interface Answer {
  status: number;
  /** From the first byte sent to the answer's end. */
  ms: number;
  /** From the last byte of the body handed to the kernel to the answer's end. */
  afterUpload: number;
}

const JUNK_JSON = { 'Content-Type': 'application/json', Authorization: 'Basic eDp5' };

function post(port: number, body: Buffer, headers: Record<string, string> = JUNK_JSON): Promise<Answer> {
  const started = process.hrtime.bigint();
  let uploaded = started;
  const since = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/rest', method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: since(started), afterUpload: since(uploaded) }));
      },
    );
    req.on('finish', () => (uploaded = process.hrtime.bigint()));
    req.setTimeout(60_000, () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: since(started), afterUpload: since(uploaded) }));
    req.end(body);
  });
}

const timing = (r: Answer): string => `${r.status} in ${r.ms.toFixed(0)} ms (${r.afterUpload.toFixed(0)} ms after the upload)`;

const MB = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;

function rss(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function vmTotal(sb: Sandbox): Promise<number> {
  return Number((await sb.rpc('erlang:memory(total).')).match(/(\d+)/)![1]);
}

/** Memory (heap and referenced binaries) of the port owner and its writer, as one line. */
async function ownerHeaps(sb: Sandbox): Promise<string> {
  const out = await sb.rpc(
    `begin P = whereis(mod_rest_port), {links, L} = process_info(P, links), ` +
      `W = [X || X <- L, is_pid(X)], ` +
      `F = fun(Pid) -> {memory, M} = process_info(Pid, memory), {binary, B} = process_info(Pid, binary), ` +
      `{M, lists:sum([S || {_, S, _} <- B])} end, ` +
      `lists:flatten(io_lib:format("~w", [[F(X) || X <- [P | W]]])) end.`,
  );
  return out.trim();
}

/** Samples the beam's RSS every 100 ms while `work` runs; returns its result and the peak. */
async function withPeak<T>(pid: number | undefined, work: Promise<T>): Promise<[T, number]> {
  let peak = rss(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);
  try {
    return [await work, peak];
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-probe-json-'));
  const sb = new Sandbox({ dir, c2sPort: await freePort(), httpPort: await freePort(), users: [['alice', 'pw']], distribution: true, moduleTree: process.env.PROBE_MODULE_TREE });
  await sb.start();
  try {
    const body = bigJson();
    const port = sb.options.httpPort;
    console.log(`body: ${MB(body.length)} (${body.length} bytes), ${OBJECTS} objects, Authorization: Basic eDp5`);
    await sleep(1000);
    console.log(`idle:            VM ${MB(await vmTotal(sb))}, RSS ${MB(rss(sb.pid))}, owner+writer [{memory, binaries}] ${await ownerHeaps(sb)}`);

    const [one, peak1] = await withPeak(sb.pid, post(port, body));
    console.log(`one:             ${timing(one)}; RSS peak ${MB(peak1)}`);
    console.log(`after one:       VM ${MB(await vmTotal(sb))}, RSS ${MB(rss(sb.pid))}, owner+writer ${await ownerHeaps(sb)}`);

    const [three, peak3] = await withPeak(sb.pid, Promise.all([post(port, body), post(port, body), post(port, body)]));
    console.log(`three at once:   ${three.map(timing).join(', ')}; RSS peak ${MB(peak3)}`);
    console.log(`after three:     VM ${MB(await vmTotal(sb))}, RSS ${MB(rss(sb.pid))}, owner+writer ${await ownerHeaps(sb)}`);
    await sleep(SETTLE_SECONDS * 1000);
    console.log(`${SETTLE_SECONDS} s later:     VM ${MB(await vmTotal(sb))}, RSS ${MB(rss(sb.pid))}, owner+writer ${await ownerHeaps(sb)}`);

    // The legacy protocol still takes stanzas up to max_body_size: one of 19 MB, routed to nobody.
    const stanza = Buffer.from(`<message from="localhost/probe" to="nobody@localhost"><body>${'a'.repeat(body.length - 100)}</body></message>`);
    const legacy = await post(port, stanza, {});
    console.log(`legacy 19 MB:    ${timing(legacy)}`);
    console.log(`after it:        VM ${MB(await vmTotal(sb))}, RSS ${MB(rss(sb.pid))}, owner+writer ${await ownerHeaps(sb)}`);
  } finally {
    await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
