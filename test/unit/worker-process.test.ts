// SPDX-License-Identifier: GPL-2.0-or-later
// The built worker (priv/worker/main.js) as the port sees it: a process spoken to in frames.
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { atom, decode, Tuple, type OutTerm, type Term } from '../../src/port/etf.js';
import { encodeFrame } from '../../src/port/etf-writer.js';
import { FrameReader, frame } from '../../src/port/framing.js';

const WORKER = path.join(__dirname, '..', '..', 'priv', 'worker', 'main.js');

const running = new Set<ChildProcessWithoutNullStreams>();

class Worker {
  readonly proc: ChildProcessWithoutNullStreams;
  /** {log, Level, Line} frames, kept apart from the rest. */
  readonly logs: Term[] = [];
  private readonly reader = new FrameReader();
  private readonly frames: Term[] = [];
  private waiting: (() => void) | null = null;
  readonly exited: Promise<number | null>;

  constructor() {
    this.proc = spawn(process.execPath, [WORKER]);
    running.add(this.proc);
    this.proc.stdout.on('data', (chunk: Buffer) => {
      // Every byte on stdout must belong to a frame: decode throws otherwise.
      for (const payload of this.reader.push(chunk)) {
        const term = decode(payload);
        const isLog = term instanceof Tuple && term.items[0] === atom('log');
        (isLog ? this.logs : this.frames).push(term);
      }
      this.waiting?.();
    });
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code) => {
        running.delete(this.proc);
        resolve(code);
      }),
    );
  }

  send(term: OutTerm): void {
    this.proc.stdin.write(encodeFrame(term));
  }

  sendRaw(bytes: Buffer): void {
    this.proc.stdin.write(bytes);
  }

  async next(timeoutMs = 5000): Promise<Term> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (Date.now() > deadline) throw new Error('no frame from the worker in time');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.frames.shift()!;
  }
}

describe('the built worker process', function () {
  this.timeout(10_000);
  afterEach(() => {
    for (const proc of running) proc.kill('SIGKILL');
  });

  it('says hello with the protocol version first', async () => {
    const w = new Worker();
    const hello = (await w.next()) as Tuple;
    expect(hello.items).to.deep.equal([atom('hello'), 1]);
    w.proc.stdin.end();
    expect(await w.exited).to.equal(0);
  });

  it('answers a request from a configured host, and exits 0 when its stdin closes', async () => {
    const { readFileSync } = await import('node:fs');
    const fixtures = path.join(__dirname, '..', 'fixtures', 'etf');
    const w = new Worker();
    await w.next(); // hello
    // Erlang's own bytes: config for localhost, then a POST of a message from 127.0.0.1.
    w.sendRaw(frame(readFileSync(path.join(fixtures, 'to-worker-config-v2.etf'))));
    w.sendRaw(frame(readFileSync(path.join(fixtures, 'to-worker-request-post-v2.etf'))));
    const reply = (await w.next()) as Tuple;
    expect(reply.items[0]).to.equal(atom('reply'));
    expect(reply.items[1]).to.equal(42);
    const action = reply.items[2] as Tuple;
    expect(action.items[0]).to.equal(atom('route'));
    const stanza = action.items[1] as Tuple;
    expect(stanza.items[0]).to.equal(atom('xmlel'));
    expect((stanza.items[1] as Buffer).toString()).to.equal('message');
    w.proc.stdin.end();
    expect(await w.exited).to.equal(0);
  });

  it('answers each request of a batch frame (a list of frames, as the stub writes them), in order', async () => {
    const { readFileSync } = await import('node:fs');
    const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'etf', `to-worker-${name}-v2.etf`));
    const w = new Worker();
    await w.next(); // hello
    w.sendRaw(frame(fixture('config')));
    // What mod_rest_port:batch_frame/1 writes (EUnit: term_to_binary of the list): each term's
    // own bytes without the version byte, inside LIST_EXT.
    const items = ['request-post', 'request-raw-bytes', 'request-get-subpath'].map((n) => fixture(n).subarray(1));
    const head = Buffer.from([131, 108, 0, 0, 0, items.length]);
    w.sendRaw(frame(Buffer.concat([head, ...items, Buffer.from([106])])));
    const replies = [(await w.next()) as Tuple, (await w.next()) as Tuple, (await w.next()) as Tuple];
    expect(replies.map((r) => r.items[1])).to.deep.equal([42, 300, 0x7fffffff]);
    const kinds = replies.map((r) => (r.items[2] as Tuple).items[0]);
    expect(kinds).to.deep.equal([atom('route'), atom('answer'), atom('answer')]);
    expect((replies[1]!.items[2] as Tuple).items[1]).to.equal(503); // example.org is not configured
    expect(((replies[2]!.items[2] as Tuple).items[2] as Buffer).toString()).to.equal('Try POSTing a stanza.');
    w.proc.stdin.end();
    expect(await w.exited).to.equal(0);
  });

  it('answers 503 for a host it has no configuration for, rather than guessing', async () => {
    const { readFileSync } = await import('node:fs');
    const w = new Worker();
    await w.next();
    w.sendRaw(frame(readFileSync(path.join(__dirname, '..', 'fixtures', 'etf', 'to-worker-request-raw-bytes-v1.etf'))));
    const reply = (await w.next()) as Tuple;
    const action = reply.items[2] as Tuple;
    expect(action.items[0]).to.equal(atom('answer'));
    expect(action.items[1]).to.equal(503);
    w.proc.stdin.end();
    await w.exited;
  });

  it('sends its log lines as {log, Level, Line} frames, never as loose bytes', async () => {
    const w = new Worker();
    await w.next();
    w.proc.stdin.end();
    expect(await w.exited).to.equal(0);
    const [first] = w.logs as Tuple[];
    expect(first!.items[1]).to.equal(atom('info'));
    expect((first!.items[2] as Buffer).toString()).to.match(/^worker started pid=\d+/);
  });

  it('answers a ping with a pong carrying the same number', async () => {
    const w = new Worker();
    await w.next();
    w.send(new Tuple(atom('ping'), 12345));
    const pong = (await w.next()) as Tuple;
    expect(pong.items).to.deep.equal([atom('pong'), 12345]);
    w.proc.stdin.end();
    await w.exited;
  });

  it('exits non-zero on a frame that is not ETF, so that its owner restarts it', async () => {
    const w = new Worker();
    await w.next();
    w.sendRaw(frame(Buffer.from('definitely not a term')));
    expect(await w.exited).to.equal(1);
  });

  it('exits non-zero on a frame header announcing more than the frame limit', async () => {
    const w = new Worker();
    await w.next();
    w.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(await w.exited).to.equal(1);
  });
});

// Frames with maps (config, request), which the worker's own writer never sends: a minimal
// external-format encoder for these tests.
type MapTerm = { map: Array<[string, EtfIn]> };
type EtfIn = string | Buffer | number | EtfIn[] | { atom: string } | { tuple: EtfIn[] } | MapTerm;
function etf(t: EtfIn): Buffer {
  if (typeof t === 'number') return Buffer.from([98, ...u32(t)]);
  if (typeof t === 'string') return etf(Buffer.from(t, 'utf8'));
  if (Buffer.isBuffer(t)) return Buffer.concat([Buffer.from([109, ...u32(t.length)]), t]);
  if (Array.isArray(t)) return t.length === 0 ? Buffer.from([106]) : Buffer.concat([Buffer.from([108, ...u32(t.length)]), ...t.map(etf), Buffer.from([106])]);
  if ('atom' in t) return Buffer.concat([Buffer.from([119, t.atom.length]), Buffer.from(t.atom)]);
  if ('tuple' in t) return Buffer.concat([Buffer.from([104, t.tuple.length]), ...t.tuple.map(etf)]);
  return Buffer.concat([Buffer.from([116, ...u32(t.map.length)]), ...t.map.flatMap(([k, v]) => [etf({ atom: k }), etf(v)])]);
}
function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}
const termFrame = (t: EtfIn): Buffer => frame(Buffer.concat([Buffer.from([131]), etf(t)]));
const configFrame = termFrame({
  tuple: [{ atom: 'config' }, 'localhost', { map: [['allowed_ips', []], ['allowed_destinations', []], ['allowed_stanza_types', []]] }],
});
const requestFrame = (id: number, body: string): Buffer =>
  termFrame({
    tuple: [
      { atom: 'request' },
      id,
      { map: [['method', 'POST'], ['path', []], ['body', body], ['ip', '127.0.0.1'], ['host', 'localhost']] },
    ],
  });

describe('the built worker process: the large-body lane', function () {
  this.timeout(20_000);
  afterEach(() => {
    for (const proc of running) proc.kill('SIGKILL');
  });

  // 9,999 elements of 20 attributes, about 700 KB: tens of ms of parsing.
  const attrs = Array.from({ length: 20 }, (_, i) => `a${i}="${i}"`).join(' ');
  const BIG = `<message from="localhost" to="n@localhost">${`<x ${attrs}/>`.repeat(9_999)}</message>`;
  const SMALL = '<message from="localhost" to="n@localhost"><body>small</body></message>';

  it('answers small requests sent behind large ones first, and every large one too', async () => {
    const w = new Worker();
    await w.next(); // hello
    w.sendRaw(configFrame);
    // One write, in this order: four large bodies, then one small one.
    w.sendRaw(Buffer.concat([1, 2, 3, 4].map((id) => requestFrame(id, BIG)).concat(requestFrame(5, SMALL))));
    const replies: Tuple[] = [];
    for (let i = 0; i < 5; i++) replies.push((await w.next(10_000)) as Tuple);
    const ids = replies.map((r) => r.items[1]);
    expect(ids[0], 'the small request is answered first').to.equal(5);
    expect([...ids].sort()).to.deep.equal([1, 2, 3, 4, 5]);
    for (const r of replies) expect((r.items[2] as Tuple).items[0], `reply ${r.items[1]}`).to.equal(atom('route'));
    const big = (replies.find((r) => r.items[1] === 1)!.items[2] as Tuple).items[1] as Tuple;
    expect((big.items[3] as Term[]).length, 'children of the large stanza').to.equal(9_999);
    w.proc.stdin.end();
    expect(await w.exited).to.equal(0);
  });

  it('leaves its stdout pipe blocking once the lane has started (large replies are written whole, without retries)', async () => {
    const { readFileSync } = await import('node:fs');
    const w = new Worker();
    await w.next();
    w.sendRaw(configFrame);
    w.sendRaw(requestFrame(9, BIG));
    expect(((await w.next(10_000)) as Tuple).items[1]).to.equal(9);
    // O_NONBLOCK is 04000 in the flags /proc shows, in octal.
    const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/${w.proc.pid}/fdinfo/1`, 'utf8'))![1]!;
    expect(parseInt(flags, 8) & 0o4000, `fd 1 flags ${flags}`).to.equal(0);
    w.proc.stdin.end();
    expect(await w.exited).to.equal(0);
  });

  it('finishes the large requests it was given before it exits on end of input', async () => {
    const w = new Worker();
    await w.next();
    w.sendRaw(configFrame);
    w.sendRaw(Buffer.concat([requestFrame(7, BIG), requestFrame(8, BIG)]));
    w.proc.stdin.end();
    const ids = [((await w.next(10_000)) as Tuple).items[1], ((await w.next(10_000)) as Tuple).items[1]];
    expect(ids.sort()).to.deep.equal([7, 8]);
    expect(await w.exited).to.equal(0);
  });
});
