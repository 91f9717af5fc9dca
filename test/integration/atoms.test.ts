// SPDX-License-Identifier: GPL-2.0-or-later
// No atom may be created from request data: the atom table is never garbage-collected, so a
// client that could mint atoms could eventually crash the node. Counted in the VM itself.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Sandbox } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox } from './support';

const rand = (): string => `q${randomBytes(6).toString('hex')}`;

async function atomCount(sb: Sandbox): Promise<number> {
  const out = await sb.rpc('erlang:system_info(atom_count).');
  const m = out.match(/\{ok,\s*(\d+)\}/);
  if (!m) throw new Error(`unexpected erl_call output: ${out}`);
  return Number(m[1]);
}

// Every kind of request data that reaches the VM: command names and arguments, --auth user
// and host, element and attribute names, JIDs, methods and paths.
function hostileRequests(): Array<[string, string | null, { method?: string; path?: string }?]> {
  return [
    [rand(), rand()],
    [`${rand()}-${rand()} a b`, null],
    [`--auth ${rand()} ${rand()} pw registered_users localhost`, null],
    [`--auth ${rand()} localhost pw ${rand()}`, null],
    [`register ${rand()} ${rand()} pw`, null],
    [`<${rand()} from="localhost" ${rand()}="x"/>`, null],
    [`<message from="${rand()}@localhost/${rand()}" to="${rand()}@${rand()}"><${rand()} xmlns="urn:${rand()}"/></message>`, null],
    [`<iq from="localhost" to="localhost" type="${rand()}" id="1"/>`, null],
    ['x', null, { method: 'GET', path: `/rest/${rand()}` }],
  ].map(([body, , opts]) => [body as string, null, opts as { method?: string; path?: string } | undefined]);
}

// `make torture` sends 100,000.
const COMMAND_NAMES = Number(process.env.RANDOM_COMMAND_NAMES ?? 2000);

describe('atoms', function () {
  this.timeout(900_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('atoms', { distribution: true, users: [['nolan', 'pw']], modRest: { access_commands: 'open' } });
  });
  after(async () => stopSandbox(sb));

  it('are not created by 2,000 requests full of names never seen before', async () => {
    const send = async () => {
      for (const [body, , opts] of hostileRequests()) await post(sb, body, opts ?? {});
    };
    // Warm-up: the first request of each kind may load code (and that code's own atoms).
    for (let i = 0; i < 5; i++) await send();
    const before = await atomCount(sb);
    for (let i = 0; i < 2000 / hostileRequests().length; i++) await send();
    const after = await atomCount(sb);
    expect(after - before, `atoms created (before ${before}, after ${after})`).to.equal(0);
  });

  it(`are not created by ${COMMAND_NAMES} random command names, each answered 400`, async () => {
    await post(sb, rand()); // warm-up
    const before = await atomCount(sb);
    let next = 0;
    const statuses = new Map<number, number>();
    const loop = async (): Promise<void> => {
      while (next++ < COMMAND_NAMES) {
        const r = await post(sb, `${rand()}${next}`);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, loop));
    const after = await atomCount(sb);
    console.log(`      ${COMMAND_NAMES} random command names: answers ${JSON.stringify([...statuses])}, atoms created ${after - before}`);
    expect([...statuses]).to.deep.equal([[400, COMMAND_NAMES]]);
    expect(after - before).to.equal(0);
  });
});
