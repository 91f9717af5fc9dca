// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/health under a crowd of checks (security issue 16, item 16): concurrent checks share
// one ping (mod_rest_health), so a healthy node never answers 503 because it is checked often,
// and a frozen worker still makes every check answer 503.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { post, sleep, startSandbox, stopSandbox, suiteFailed, type Reply } from './support.js';

const CONCURRENT = 600;
const ROUNDS = 3;
const health = (sb: Sandbox): Promise<Reply> => post(sb, null, { method: 'GET', path: '/rest/health' });

async function crowd(sb: Sandbox): Promise<Map<number, number>> {
  const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => health(sb)));
  const byStatus = new Map<number, number>();
  for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  return byStatus;
}

describe('GET /rest/health under 600 concurrent checks', function () {
  this.timeout(90_000);
  let sb: Sandbox;
  let frozen: number | undefined;

  before(async () => {
    // max_in_flight below the crowd: each check pinging on its own would be refused past it.
    sb = await startSandbox('health-load', { modRest: { max_in_flight: 64, health_timeout: '1 second' } });
  });
  after(async function () {
    if (frozen !== undefined) {
      try {
        process.kill(frozen, 'SIGKILL');
      } catch {
        // already replaced by the owner
      }
    }
    await stopSandbox(sb, suiteFailed(this));
  });

  it('answers every check 200 while the worker is healthy', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const byStatus = await crowd(sb);
      expect(Object.fromEntries(byStatus), `round ${round + 1}`).to.deep.equal({ 200: CONCURRENT });
    }
  });

  it('still answers every check 503 while the worker is frozen, and 200 once it is replaced', async () => {
    const [pid] = sb.workerPids();
    frozen = pid!;
    process.kill(frozen, 'SIGSTOP');
    const byStatus = await crowd(sb);
    expect(Object.fromEntries(byStatus)).to.deep.equal({ 503: CONCURRENT });
    const deadline = Date.now() + 20_000;
    let last = 0;
    while (Date.now() < deadline && last !== 200) {
      last = (await health(sb)).status;
      if (last !== 200) await sleep(250);
    }
    expect(last, 'healthy again once the owner replaced the frozen worker').to.equal(200);
  });
});
