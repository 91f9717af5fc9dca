// SPDX-License-Identifier: GPL-2.0-or-later
// Under sustained traffic: a worker that starts writing garbage, a module restart, and ejabberd
// stopping. Every request gets an answer while the node runs; no worker process is orphaned.
import { expect } from 'chai';
import path from 'node:path';
import type { Sandbox } from '../../scripts/sandbox';
import { findProcesses, logEventually, post, postWhenReady, sleep, startSandbox, stopSandbox } from './support';

const GARBLING_WORKER = path.join(__dirname, '..', 'fixtures', 'bin', 'garbling-worker.js');
const MSG = (text: string) => `<message from="localhost/rest" to="nolan@localhost"><body>${text}</body></message>`;

interface Traffic {
  stop(): Promise<Map<string, number>>;
}

/** Four loops posting until stopped; tallies answers by status (or 'no answer'). */
function traffic(sb: Sandbox, maxPerLoop = 5_000): Traffic {
  const tally = new Map<string, number>();
  let running = true;
  const loops = Array.from({ length: 4 }, async (_, n) => {
    for (let i = 0; running && i < maxPerLoop; i++) {
      let key: string;
      try {
        key = String((await post(sb, MSG(`t${n}-${i}`))).status);
      } catch {
        key = 'no answer';
      }
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (await check()) return true;
  return check();
}

describe('a worker that starts writing garbage under load', function () {
  this.timeout(90_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('garbling', { users: [['nolan', 'pw']], modRest: { worker_executable: GARBLING_WORKER, request_timeout: '2 seconds' } });
  });
  after(async () => stopSandbox(sb));

  it('is replaced; every request meanwhile is answered 200, 503 or 504', async () => {
    const wrapper = () => findProcesses(GARBLING_WORKER);
    const [first] = wrapper();
    expect(first).to.be.a('number');
    const load = traffic(sb);
    await sleep(500);
    process.kill(first!, 'SIGUSR1');
    const replaced = await eventually(() => wrapper().some((p) => p !== first), 20_000);
    await sleep(500);
    const tally = await load.stop();
    expect(replaced, 'a new worker replaced the garbling one').to.equal(true);
    expect([...tally.keys()].every((k) => ['200', '503', '504'].includes(k)), JSON.stringify([...tally])).to.equal(true);
    expect(tally.get('200') ?? 0).to.be.greaterThan(0);
    expect(await logEventually(sb, /unreadable frame|stopped answering|unexpected frame/), 'the log says why').to.equal(true);
    expect((await postWhenReady(sb, MSG('after'))).status).to.equal(200);
    // The garbling wrapper's own child, the real worker, went with it.
    expect(await eventually(() => findProcesses(sb.workerScript).length === 2, 5_000), 'one wrapper and its worker').to.equal(true);
  });
});

describe('a module restart under load', function () {
  this.timeout(90_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('restart', { distribution: true, users: [['nolan', 'pw']] });
  });
  after(async () => stopSandbox(sb));

  it('answers every request, and leaves exactly one worker', async () => {
    const before = sb.workerPids();
    const load = traffic(sb);
    await sleep(500);
    const out = await sb.rpc('gen_mod:stop_module(<<"localhost">>, mod_rest), gen_mod:start_module(<<"localhost">>, mod_rest).');
    expect(out).to.match(/ok/);
    await sleep(1000);
    const tally = await load.stop();
    expect(tally.has('no answer'), JSON.stringify([...tally])).to.equal(false);
    expect([...tally.keys()].every((k) => ['200', '503'].includes(k)), JSON.stringify([...tally])).to.equal(true);
    expect(await eventually(() => sb.workerPids().length === 1, 5_000), 'one worker').to.equal(true);
    expect(sb.workerPids()).to.not.deep.equal(before);
    expect((await postWhenReady(sb, MSG('after'))).status).to.equal(200);
  });
});

describe('ejabberd stopping under load', function () {
  this.timeout(90_000);

  it('leaves no worker process behind', async () => {
    const sb = await startSandbox('stop', { users: [['nolan', 'pw']] });
    const script = sb.workerScript;
    const load = traffic(sb);
    await sleep(1000);
    await sb.stop();
    const tally = await load.stop();
    expect(tally.get('200') ?? 0).to.be.greaterThan(0);
    expect(await eventually(() => findProcesses(script).length === 0, 5_000), 'worker processes left').to.equal(true);
    await stopSandbox(sb);
  });
});
