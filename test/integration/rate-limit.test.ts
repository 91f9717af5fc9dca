// SPDX-License-Identifier: GPL-2.0-or-later
// rate_limit_per_ip: beyond the limit in a second, 429 with Retry-After; the next second, served.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, sleep, startSandbox, stopSandbox } from './support';

describe('rate_limit_per_ip', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('rate', { modRest: { rate_limit_per_ip: 5, access_commands: 'open' } });
  });
  after(async () => stopSandbox(sb));

  it('answers 429 with Retry-After beyond the limit, then serves again a second later', async () => {
    const replies = [];
    const started = Date.now();
    for (let i = 0; i < 20; i++) replies.push(await post(sb, 'connected_users_number'));
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    const ok = replies.filter((r) => r.status === 200).length;
    const limited = replies.filter((r) => r.status === 429);
    expect(ok + limited.length, 'only 200 and 429').to.equal(20);
    // At most 5 a window (the sandbox's own readiness checks may have used some of the first).
    expect(ok).to.be.within(1, 5 * windows);
    expect(limited.length).to.be.greaterThan(0);
    expect(limited[0]!.headers['retry-after']).to.equal('1');
    expect(limited[0]!.body).to.equal('Error: too many requests from this address; try again later.');
    await sleep(1100);
    expect((await post(sb, 'connected_users_number')).status).to.equal(200);
  });
});
