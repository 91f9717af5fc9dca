// SPDX-License-Identifier: GPL-2.0-or-later
// iqs of the authenticated API that wait for replies which never come (security issue 16, item 4):
// bounded per account (429) and per node (503), and given up once their HTTP clients hang up, so
// that the node's processes and ports come back to where they were long before the iqs' 300 s.
import { xml } from '@xmpp/client';
import { expect } from 'chai';
import http from 'node:http';
import type { Sandbox } from '../../scripts/sandbox.js';
import { post, sleep, startSandbox, stopSandbox, suiteFailed, XmppUser } from './support.js';

const PER_ACCOUNT = 150;
const NODE_WIDE = 200;
const basic = (user: string): string => `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}`;
// xmpp.js answers pings by itself: the sink swallows version queries instead (the same wait).
const SINK = '/rest/version/carol@localhost%2Fsink';
const HEADERS = (user: string): Record<string, string> => ({ Authorization: basic(user), 'Prosody-Rest-Timeout': '300' });

/** A GET to the sink held open; hangUp() closes its connection as a client that gave up does. */
function hold(sb: Sandbox, user: string, path = SINK): { hangUp: () => void } {
  const req = http.request({ host: '127.0.0.1', port: sb.options.httpPort, path, method: 'GET', agent: false, headers: HEADERS(user) });
  req.on('error', () => undefined); // hung up by us
  req.end();
  return { hangUp: () => req.destroy() };
}

async function numbers(sb: Sandbox, expression: string): Promise<number[]> {
  const out = await sb.rpc(expression);
  return [...out.matchAll(/-?\d+/g)].map((m) => Number(m[0]));
}

describe('iq waits of the authenticated API: bounded, and freed when the client hangs up', function () {
  this.timeout(120_000);
  let sb: Sandbox | undefined;
  let carol: XmppUser;

  before(async function () {
    this.timeout(60_000);
    sb = await startSandbox('iq-waits', {
      distribution: true,
      users: [
        ['alice', 'alice-pw'],
        ['bob', 'bob-pw'],
        ['carol', 'carol-pw'],
      ],
      modRest: { max_iq_waits: NODE_WIDE, max_iq_waits_per_account: PER_ACCOUNT },
    });
    carol = await XmppUser.login(sb, 'carol', 'carol-pw', 'sink');
    carol.answerIq('jabber:iq:version', 'query', null); // the sink never answers
  });

  after(async function () {
    await carol?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  const waiting = async (): Promise<number> => (await numbers(sb!, 'mod_rest_iq_waits:count(node_total).'))[0]!;
  const until = async (check: () => Promise<boolean>, ms: number): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) if (await check()) return true;
    return check();
  };

  it('refuses past the per-account (429) and the node-wide (503) bound, then returns to its baseline of processes and ports once the clients hang up', async () => {
    // A first request warms up what stays (the worker's render lane, the HTTP listener's pool).
    expect((await post(sb!, null, { method: 'GET', path: '/rest/ping/localhost', headers: { Authorization: basic('alice') } })).status).to.equal(200);
    const [processes0, ports0] = await numbers(sb!, '{erlang:system_info(process_count), erlang:system_info(port_count)}.');

    const held = Array.from({ length: PER_ACCOUNT }, () => hold(sb!, 'alice'));
    expect(await until(async () => (await waiting()) === PER_ACCOUNT, 30_000), 'alice holds her bound').to.equal(true);
    const overAccount = await post(sb!, null, { method: 'GET', path: SINK, headers: HEADERS('alice') });
    expect([overAccount.status, overAccount.headers['retry-after']]).to.deep.equal([429, '5']);
    expect(overAccount.body).to.equal('Error: too many iqs of this account are waiting for their replies (max_iq_waits_per_account); try again later.');

    held.push(...Array.from({ length: NODE_WIDE - PER_ACCOUNT }, () => hold(sb!, 'bob')));
    expect(await until(async () => (await waiting()) === NODE_WIDE, 30_000), 'the node holds its bound').to.equal(true);
    const overNode = await post(sb!, null, { method: 'GET', path: SINK, headers: HEADERS('bob') });
    expect([overNode.status, overNode.headers['retry-after']]).to.deep.equal([503, '5']);
    expect(overNode.body).to.equal('Error: too many iqs are waiting for their replies on this node (max_iq_waits); try again later.');

    const [processesHeld, portsHeld] = await numbers(sb!, '{erlang:system_info(process_count), erlang:system_info(port_count)}.');
    expect(processesHeld - processes0, 'a process a wait').to.be.at.least(NODE_WIDE - 20);
    expect(portsHeld - ports0, 'a socket a wait').to.be.at.least(NODE_WIDE - 20);

    held.forEach((h) => h.hangUp());
    expect(await until(async () => (await waiting()) === 0, 15_000), 'every wait given up within seconds, not 300 s').to.equal(true);
    const back = await until(async () => {
      const [processes, ports] = await numbers(sb!, '{erlang:system_info(process_count), erlang:system_info(port_count)}.');
      return processes <= processes0 + 10 && ports <= ports0 + 5;
    }, 15_000);
    expect(back, 'processes and ports back to their baseline').to.equal(true);

    // The slots are free again: alice's next iq is admitted (and answered when its target answers).
    carol.answerIq('jabber:iq:version', 'query', () => xml('query', { xmlns: 'jabber:iq:version' }, xml('name', {}, 'sink')));
    const answered = await post(sb!, null, { method: 'GET', path: SINK, headers: { Authorization: basic('alice') } });
    expect(answered.status, answered.body).to.equal(200);
  });

  it('counts archive queries in the bounds too, and gives them up when their clients hang up', async () => {
    carol.answerIq('urn:xmpp:mam:2', 'query', null, 'set'); // the sink swallows MAM queries to it
    const held = Array.from({ length: 10 }, () => hold(sb!, 'carol', '/rest/archive/carol@localhost%2Fsink'));
    expect(await until(async () => (await waiting()) === 10, 30_000), 'ten archive queries wait').to.equal(true);
    held.forEach((h) => h.hangUp());
    expect(await until(async () => (await waiting()) === 0, 15_000), 'given up within seconds, not 300 s').to.equal(true);
  });
});
