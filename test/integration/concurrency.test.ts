// SPDX-License-Identifier: GPL-2.0-or-later
// Many HTTP processes writing to the worker's port at once must not be refused as busy:
// with the port's default message-queue limits, a third of them were.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox } from './support';

describe('concurrent requests', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('concurrency', { users: [['nolan', 'pw']] });
  });
  after(async () => stopSandbox(sb));

  it('answers 256 simultaneous stanza posts, five times over, all with 200', async () => {
    const statuses = new Map<number, number>();
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(
        Array.from({ length: 256 }, (_, i) =>
          post(sb, `<message to="nolan@localhost" from="localhost/c"><body>r${round}-${i}</body></message>`),
        ),
      );
      for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect([...statuses]).to.deep.equal([[200, 1280]]);
  });
});
