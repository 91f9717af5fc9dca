// SPDX-License-Identifier: GPL-2.0-or-later
// The TypeScript worker killed under load: every request still gets an HTTP answer, a stanza is
// delivered exactly when it was answered 200, and the worker comes back, once.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import {
  bodyOf,
  eventually,
  findProcesses,
  messageXml,
  post,
  postWhenReady,
  restSentinel,
  sleep,
  startSandbox,
  stopSandbox,
  suiteFailed,
  unique,
  XmppUser,
} from './support.js';

// `make torture` raises these (FAULT_KILLS=10, FAULT_KILL_INTERVAL_MS=2000: 20 s of kills).
const LOOPS = 8;
const KILLS = Number(process.env.FAULT_KILLS ?? 3);
const KILL_INTERVAL_MS = Number(process.env.FAULT_KILL_INTERVAL_MS ?? 1_500);
/** Bounds the traffic whatever happens: at most this many requests a loop. */
const MAX_REQUESTS_PER_LOOP = Number(process.env.FAULT_MAX_REQUESTS ?? 1_500);

interface Outcome {
  text: string;
  status?: number;
  body?: string;
  retryAfter?: string | string[] | undefined;
  error?: string;
}

describe('mod_rest when its worker is killed', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser | undefined;

  before(async function () {
    sb = await startSandbox('faults', { users: [['alice', 'alice-pw']] });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });

  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('answers every request 200 or 503 under load while the worker is SIGKILLed, delivering exactly the 200s once', async function () {
    const server = sb!;
    const outcomes: Outcome[] = [];
    const run = unique('wf');
    let stop = false;

    const loop = async (n: number): Promise<void> => {
      for (let i = 0; !stop && i < MAX_REQUESTS_PER_LOOP; i++) {
        const outcome: Outcome = { text: `${run}-${n}-${i}` };
        outcomes.push(outcome);
        try {
          const reply = await post(server, messageXml('alice@localhost', 'localhost/rest', outcome.text));
          outcome.status = reply.status;
          outcome.body = reply.body;
          outcome.retryAfter = reply.headers['retry-after'];
        } catch (err) {
          outcome.error = String(err);
        }
      }
    };
    const traffic = Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));

    const killed: number[] = [];
    try {
      await sleep(1_000);
      for (let k = 0; k < KILLS; k++) {
        // Between kills the worker must have come back (a new pid).
        const back = await eventually(() => server.workerPids().some((p) => !killed.includes(p)), 5_000);
        expect(back, `no new worker after kill ${k}`).to.equal(true);
        for (const pid of server.workerPids()) {
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
        }
        await sleep(KILL_INTERVAL_MS);
      }
    } finally {
      stop = true;
      await traffic;
    }

    const dropped = outcomes.filter((o) => o.error !== undefined);
    expect(dropped.map((o) => o.error).slice(0, 3), `${dropped.length} requests got no HTTP answer`).to.deep.equal([]);
    const unexpected = outcomes.filter((o) => o.status !== 200 && o.status !== 503);
    expect(unexpected.map((o) => `${o.status} ${o.body}`).slice(0, 3), `${unexpected.length} unexpected answers`).to.deep.equal([]);
    const ok = outcomes.filter((o) => o.status === 200);
    const unavailable = outcomes.filter((o) => o.status === 503);
    for (const o of ok) expect(o.body).to.equal('Ok');
    for (const o of unavailable) {
      expect(o.body).to.match(/^Error: the REST worker/);
      expect(o.retryAfter, '503 without Retry-After').to.be.a('string');
    }
    expect(killed.length).to.be.at.least(KILLS);
    expect(ok.length, 'no request succeeded').to.be.greaterThan(0);
    expect(unavailable.length, 'the kills never showed: no 503 at all').to.be.greaterThan(0);

    // Delivery: every 200 exactly once, no 503 ever.
    const expected = new Set(ok.map((o) => o.text));
    const refused = new Set(unavailable.map((o) => o.text));
    const count = (): Map<string, number> => {
      const seen = new Map<string, number>();
      for (const m of alice!.messages) {
        const text = bodyOf(m);
        if (text?.startsWith(run)) seen.set(text, (seen.get(text) ?? 0) + 1);
      }
      return seen;
    };
    await eventually(() => [...expected].every((t) => count().has(t)), 15_000);
    // Anything still in flight towards alice is ahead of this sentinel.
    await alice!.waitForBody(await restSentinel(server, alice!)());
    const seen = count();
    const missing = [...expected].filter((t) => !seen.has(t));
    const duplicated = [...seen].filter(([, n]) => n > 1).map(([t]) => t);
    const leaked = [...seen.keys()].filter((t) => refused.has(t));
    const unknown = [...seen.keys()].filter((t) => !expected.has(t) && !refused.has(t));
    console.log(
      `      faults injected ${killed.length} SIGKILLs; requests ${outcomes.length}: answered ${outcomes.length - dropped.length} ` +
        `(200: ${ok.length}, 503: ${unavailable.length}), dropped ${dropped.length}; ` +
        `acknowledged and lost ${missing.length}, duplicated ${duplicated.length}, 503 yet delivered ${leaked.length}`,
    );
    expect(
      { missing: missing.slice(0, 3), duplicated: duplicated.slice(0, 3), leaked: leaked.slice(0, 3), unknown: unknown.slice(0, 3) },
      `${ok.length} answered 200, ${unavailable.length} answered 503; missing ${missing.length}, duplicated ${duplicated.length}, 503 yet delivered ${leaked.length}`,
    ).to.deep.equal({ missing: [], duplicated: [], leaked: [], unknown: [] });
  });

  it('is back to exactly one worker afterwards, and serves a new request', async function () {
    const server = sb!;
    const one = await eventually(() => server.workerPids().length === 1, 5_000);
    expect(server.workerPids(), 'worker processes').to.have.lengthOf(1);
    expect(one).to.equal(true);
    const text = unique('after-faults');
    const reply = await postWhenReady(server, messageXml('alice@localhost', 'localhost/rest', text));
    expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
    await alice!.waitForBody(text);
  });

  it('leaves no worker process behind once ejabberd has stopped', async function () {
    const server = sb!;
    const script = server.workerScript;
    expect(findProcesses(script)).to.have.lengthOf(1);
    await alice?.stop();
    alice = undefined;
    await server.stop();
    const gone = await eventually(() => findProcesses(script).length === 0, 5_000);
    expect(findProcesses(script), 'worker processes left after stop').to.deep.equal([]);
    expect(gone).to.equal(true);
  });
});
