// SPDX-License-Identifier: GPL-2.0-or-later
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on one node, with real XMPP clients
// counting what arrives: a request whose connection was cut is carried out once and its retry gets
// the kept answer; a repeat in flight is 409, another request under the key 422; keys are per
// account; the worker killed between a request and its retry changes nothing; keys expire; a flood
// of keys stays within idempotency_max_keys. The two-node case is in cluster.test.ts.
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { Sandbox } from '../../scripts/sandbox.js';
import { rawPost, writeAndCut } from './raw-http.js';
import {
  bodyOf,
  eventually,
  messageXml,
  post,
  postWhenReady,
  sleep,
  startSandbox,
  stopSandbox,
  suiteFailed,
  unique,
  XmppUser,
  type Reply,
} from './support.js';

const ALICE_PW = 'alice-idem-pw';
const BOB_PW = 'bob-idem-pw';
const LIFETIME_S = 5;
const MAX_KEYS = 40;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const XML = 'application/xmpp+xml';

/** POSTs until the answer is not 409 (the first request still in flight), at most ~5 s. */
export async function retryWhileInFlight(send: () => Promise<Reply>): Promise<Reply> {
  for (let i = 0; ; i++) {
    const reply = await send();
    if (reply.status !== 409 || i >= 25) return reply;
    await sleep(200);
  }
}

describe('Idempotency-Key on POST', function () {
  this.timeout(60_000);
  let sb: Sandbox | undefined;
  let carol: XmppUser;
  const keyed = (body: string, key: string, headers: Record<string, string> = {}): Promise<Reply> =>
    post(sb!, body, { headers: { 'Idempotency-Key': `"${key}"`, ...headers } });
  const asUser = (user: string, password: string, body: string, key: string): Promise<Reply> =>
    keyed(body, key, { Authorization: basic(user, password), 'Content-Type': XML });
  const arrived = (text: string) => carol.received((s) => bodyOf(s) === text);
  const tableSize = async () => Number((await sb!.rpc('mnesia:table_info(mod_rest_idempotency, size).')).replace(/^\{ok, (\d+)\}$/, '$1'));

  before(async function () {
    sb = await startSandbox('idempotency', {
      users: [['alice', ALICE_PW], ['bob', BOB_PW], ['carol', 'carol-pw']],
      modRest: {
        idempotency_key_lifetime: `${LIFETIME_S} seconds`,
        idempotency_max_keys: MAX_KEYS,
        allowed_ips: ['127.0.0.1', '::1', '10.1.2.0/24'],
      },
      config: { trusted_proxies: ['127.0.0.1'] },
      distribution: true,
    });
    carol = await XmppUser.login(sb, 'carol', 'carol-pw', 'desk');
  });
  after(async function () {
    await carol?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('carries out once a request whose connection was cut after it was written; the retry gets the kept answer, marked', async function () {
    const text = unique('idem-cut');
    const key = unique('key');
    const body = messageXml('carol@localhost', 'localhost/rest', text);
    await writeAndCut(sb!, rawPost(sb!, body, { 'Content-Type': 'text/plain', 'Idempotency-Key': `"${key}"` }));
    const delivered = await carol.waitForBody(text);
    const retry = await retryWhileInFlight(() => keyed(body, key));
    expect([retry.status, retry.body]).to.deep.equal([200, 'Ok']);
    expect(retry.headers['idempotent-replayed']).to.equal('true');
    expect(retry.headers['x-stanza-id'], 'the id the module gave the stanza').to.equal(delivered.attrs.id).and.to.have.length.above(0);
    const again = await keyed(body, key);
    expect([again.status, again.headers['idempotent-replayed']]).to.deep.equal([200, 'true']);
    await sleep(500);
    expect(arrived(text)).to.have.length(1);
  });

  it("answers 202 with the stanza's id (X-Stanza-Id), its own or one given before routing", async function () {
    const text = unique('idem-id');
    const own = await post(sb!, `<message id="mine-1" to="carol@localhost"><body>${text}</body></message>`, {
      headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': XML },
    });
    expect([own.status, own.headers['x-stanza-id']]).to.deep.equal([202, 'mine-1']);
    expect((await carol.waitForBody(text)).attrs.id).to.equal('mine-1');
    const text2 = unique('idem-noid');
    const given = await post(sb!, `<message to="carol@localhost"><body>${text2}</body></message>`, {
      headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': XML },
    });
    expect(given.status).to.equal(202);
    expect(given.headers['x-stanza-id']).to.be.a('string').with.length.above(0);
    expect((await carol.waitForBody(text2)).attrs.id).to.equal(given.headers['x-stanza-id']);
  });

  it('answers a repeat while the first is in flight 409 with Retry-After (another request under the key 422), and carries out the first once', async function () {
    const key = unique('key');
    let asked = 0;
    carol.answerIq('urn:example:slow', 'query', (() => {
      asked++;
      return new Promise((resolve) => setTimeout(() => resolve(xml('query', { xmlns: 'urn:example:slow' }, xml('n', {}, String(asked)))), 1_000));
    }) as never);
    const iq = `<iq type="get" id="q1" to="${carol.jid}"><query xmlns="urn:example:slow"/></iq>`;
    const first = asUser('alice', ALICE_PW, iq, key);
    await sleep(300);
    const second = await asUser('alice', ALICE_PW, iq, key);
    expect([second.status, second.headers['retry-after']]).to.deep.equal([409, '1']);
    expect(second.body).to.include('still being carried out');
    // Another request under the key while the first is in flight: 422, not 409.
    const other = await asUser('alice', ALICE_PW, iq.replace('id="q1"', 'id="q2"'), key);
    expect(other.status, other.body).to.equal(422);
    const done = await first;
    expect(done.status, done.body).to.equal(200);
    expect(done.headers['idempotent-replayed']).to.equal(undefined);
    const third = await asUser('alice', ALICE_PW, iq, key);
    expect([third.status, third.body, third.headers['idempotent-replayed']]).to.deep.equal([200, done.body, 'true']);
    expect(asked, 'iqs that reached the client').to.equal(1);
  });

  it('answers 422 to the key reused with another body, and sends nothing', async function () {
    const key = unique('key');
    const text = unique('idem-a');
    const other = unique('idem-b');
    expect((await keyed(messageXml('carol@localhost', 'localhost/rest', text), key)).status).to.equal(200);
    const reused = await keyed(messageXml('carol@localhost', 'localhost/rest', other), key);
    expect([reused.status, reused.body]).to.deep.equal([422, 'Error: this Idempotency-Key was used for another request.']);
    const api = await asUser('alice', ALICE_PW, `<message to="carol@localhost"><body>${text}</body></message>`, key);
    expect(api.status, 'the account has keys of its own').to.equal(202);
    const apiReused = await asUser('alice', ALICE_PW, `<message to="carol@localhost"><body>${other}</body></message>`, key);
    expect(apiReused.status).to.equal(422);
    expect(apiReused.body).to.include('Idempotency-Key');
    await carol.waitForBody(text);
    await sleep(500);
    expect(arrived(other)).to.have.length(0);
  });

  it("carries out another account's request under the same key: keys are per account", async function () {
    const key = unique('key');
    const text = unique('idem-acct');
    const body = `<message to="carol@localhost"><body>${text}</body></message>`;
    const alice = await asUser('alice', ALICE_PW, body, key);
    const bob = await asUser('bob', BOB_PW, body, key);
    expect([alice.status, bob.status, bob.headers['idempotent-replayed']]).to.deep.equal([202, 202, undefined]);
    expect(bob.headers['x-stanza-id']).to.not.equal(alice.headers['x-stanza-id']);
    await eventually(() => arrived(text).length === 2, 5_000);
    expect(arrived(text).map((s) => s.attrs.from).sort()).to.deep.equal(['alice@localhost', 'bob@localhost']);
    const wrong = await asUser('bob', 'not-bobs', body, key);
    expect(wrong.status, 'a key never answers for wrong credentials').to.equal(401);
  });

  it('scopes keys without credentials by client address: the X-Forwarded-For client behind trusted_proxies', async function () {
    const key = unique('key');
    const text = unique('idem-xff');
    const body = messageXml('carol@localhost', 'localhost/rest', text);
    const from = (client: string | null) => keyed(body, key, client ? { 'X-Forwarded-For': client } : {});
    const first = await from('10.1.2.3');
    const other = await from('10.1.2.4');
    const proxy = await from(null);
    expect([first, other, proxy].map((r) => [r.status, r.headers['idempotent-replayed']])).to.deep.equal([
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    const again = await from('10.1.2.3');
    expect([again.status, again.headers['idempotent-replayed'], again.headers['x-stanza-id']]).to.deep.equal([200, 'true', first.headers['x-stanza-id']]);
    await eventually(() => arrived(text).length === 3, 5_000);
    await sleep(300);
    expect(arrived(text)).to.have.length(3);
  });

  it('answers 400 to a key that is not one', async function () {
    const reply = await post(sb!, messageXml('carol@localhost', 'localhost/rest', 'x'), { headers: { 'Idempotency-Key': '"' } });
    expect([reply.status, reply.body]).to.deep.equal([400, 'Error: the Idempotency-Key header must be one key of 1 to 255 printable ASCII characters.']);
  });

  it('still sends exactly once when the worker is killed between a request and its retry', async function () {
    const key = unique('key');
    const text = unique('idem-kill');
    const body = messageXml('carol@localhost', 'localhost/rest', text);
    expect((await keyed(body, key)).status).to.equal(200);
    await carol.waitForBody(text);
    const before = sb!.workerPids();
    for (const pid of before) process.kill(pid, 'SIGKILL');
    expect(await eventually(() => sb!.workerPids().some((p) => !before.includes(p)), 10_000), 'a new worker').to.equal(true);
    await postWhenReady(sb!, messageXml('carol@localhost', 'localhost/rest', unique('idem-ready')));
    const retry = await keyed(body, key);
    expect([retry.status, retry.headers['idempotent-replayed']]).to.deep.equal([200, 'true']);
    await sleep(500);
    expect(arrived(text)).to.have.length(1);
  });

  it('forgets keys after their lifetime: the sweeper empties the table, and the same request is carried out again', async function () {
    const key = unique('key');
    const text = unique('idem-expire');
    const body = messageXml('carol@localhost', 'localhost/rest', text);
    expect((await keyed(body, key)).status).to.equal(200);
    expect(await tableSize()).to.be.above(0);
    await sleep(LIFETIME_S * 1000 + 2_500);
    expect(await tableSize(), 'swept').to.equal(0);
    const again = await keyed(body, key);
    expect([again.status, again.headers['idempotent-replayed']]).to.deep.equal([200, undefined]);
    await eventually(() => arrived(text).length === 2, 5_000);
    expect(arrived(text)).to.have.length(2);
  });

  it(`keeps at most idempotency_max_keys (${MAX_KEYS}) under a flood of distinct keys, the oldest forgotten first`, async function () {
    const run = unique('flood');
    const keys = Array.from({ length: MAX_KEYS * 3 }, (_, i) => `${run}-${i}`);
    for (const key of keys) {
      const reply = await keyed(messageXml('nobody@localhost', 'localhost/rest', key), key);
      expect(reply.status).to.equal(200);
    }
    const size = await tableSize();
    expect(size).to.be.at.most(MAX_KEYS).and.at.least(MAX_KEYS / 2);
    // The newest is kept, the oldest forgotten (carried out again: not a replay).
    const newest = keys[keys.length - 1]!;
    expect((await keyed(messageXml('nobody@localhost', 'localhost/rest', newest), newest)).headers['idempotent-replayed']).to.equal('true');
    expect((await keyed(messageXml('nobody@localhost', 'localhost/rest', keys[0]!), keys[0]!)).headers['idempotent-replayed']).to.equal(undefined);
    const metrics = await post(sb!, null, { method: 'GET', path: '/rest/metrics' });
    expect(metrics.body).to.match(/mod_rest_idempotency_total\{outcome="evicted"\} [1-9]/);
    expect(metrics.body).to.match(/mod_rest_idempotency_total\{outcome="replayed"\} [1-9]/);
  });
});
