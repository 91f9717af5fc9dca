// SPDX-License-Identifier: GPL-2.0-or-later
// A worker that stops answering (SIGSTOP) must not leave clients hanging: each request is
// answered 504 at its deadline, and the owner replaces the worker after a failed liveness probe.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { logEventually, post, sleep, startSandbox, stopSandbox } from './support';

describe('a frozen worker', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let frozen: number | undefined;

  before(async () => {
    sb = await startSandbox('frozen', { modRest: { request_timeout: '1 second', access_commands: 'open' } });
  });
  after(async () => {
    if (frozen !== undefined) {
      try {
        process.kill(frozen, 'SIGKILL');
      } catch {
        // already gone: the owner killed it, as it should
      }
    }
    await stopSandbox(sb);
  });

  it('gets its requests answered 504 at the deadline, then is replaced by a working one', async () => {
    const [pid] = sb.workerPids();
    expect(pid).to.be.a('number');
    frozen = pid;
    process.kill(pid!, 'SIGSTOP');

    const started = Date.now();
    const answers = await Promise.all([1, 2, 3].map(() => post(sb, 'registered_users localhost')));
    const elapsed = Date.now() - started;
    for (const a of answers) {
      expect(a.status).to.equal(504);
      expect(a.body).to.equal('Error: the REST worker did not answer in time; nothing was done.');
    }
    expect(elapsed).to.be.lessThan(5_000);

    // The probe times out after 5 s; then a new worker starts and answers.
    const deadline = Date.now() + 15_000;
    let last = 0;
    while (Date.now() < deadline) {
      last = (await post(sb, 'registered_users localhost')).status;
      if (last === 200) break;
      await sleep(250);
    }
    expect(last).to.equal(200);
    const now = sb.workerPids();
    expect(now).to.have.length(1);
    expect(now[0]).to.not.equal(pid);
    expect(await logEventually(sb, 'the worker stopped answering'), 'the log says why').to.equal(true);
  });
});

describe('max_in_flight', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let paused: number | undefined;

  before(async () => {
    sb = await startSandbox('in-flight', { modRest: { max_in_flight: 2, request_timeout: '10 seconds', access_commands: 'open' } });
  });
  after(async () => {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    await stopSandbox(sb);
  });

  it('answers 503 with Retry-After at once beyond the bound, and serves the waiting ones', async () => {
    const [pid] = sb.workerPids();
    paused = pid!;
    process.kill(paused, 'SIGSTOP'); // the worker holds the first two requests
    const waiting = [post(sb, 'registered_users localhost'), post(sb, 'registered_users localhost')];
    await sleep(300);
    const refused = await post(sb, 'registered_users localhost');
    expect(refused.status).to.equal(503);
    expect(refused.headers['retry-after']).to.equal('1');
    expect(refused.body).to.equal('Error: too many requests in flight; nothing was done, try again.');
    process.kill(paused, 'SIGCONT');
    paused = undefined;
    for (const reply of await Promise.all(waiting)) expect(reply.status).to.equal(200);
    expect((await post(sb, 'registered_users localhost')).status).to.equal(200);
  });
});
