// SPDX-License-Identifier: GPL-2.0-or-later
// Size and depth limits, as options.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox } from './support';

const nested = (depth: number): string =>
  `<message from="localhost" to="nolan@localhost">${'<x>'.repeat(depth - 1)}${'</x>'.repeat(depth - 1)}</message>`;

describe('limits', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('limits', { users: [['nolan', 'pw']], modRest: { max_body_size: 4096, max_xml_depth: 10 } });
  });
  after(async () => stopSandbox(sb));

  it('answers 413 to a body larger than max_body_size, and takes one of exactly that size', async () => {
    const pad = (n: number) => `<message from="localhost" to="nolan@localhost"><body>${'a'.repeat(n)}</body></message>`;
    const frame = pad(0).length;
    const big = await post(sb, pad(4097 - frame));
    expect([big.status, big.body]).to.deep.equal([413, 'Error: the body is larger than max_body_size.']);
    expect((await post(sb, pad(4096 - frame))).status).to.equal(200);
  });

  it('refuses with 406 a stanza nested deeper than max_xml_depth, and takes one exactly that deep', async () => {
    expect((await post(sb, nested(10))).status).to.equal(200);
    const deep = await post(sb, nested(11));
    expect([deep.status, deep.body]).to.deep.equal([406, 'Error: REST request is rejected by service.']);
  });

  it('refuses a stanza over a thousand levels deep without hurting the worker', async () => {
    // 1,300 open tags fit in max_body_size; the unit tests cover 10,000.
    const deep = await post(sb, `<message from="localhost" to="nolan@localhost">${'<x>'.repeat(1300)}`);
    expect(deep.status).to.equal(406);
    expect(sb.workerPids()).to.have.length(1);
    expect((await post(sb, nested(3))).status).to.equal(200);
  });
});
