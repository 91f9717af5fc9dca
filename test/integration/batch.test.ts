// SPDX-License-Identifier: GPL-2.0-or-later
// Many stanzas in one request of the authenticated API (issue 18, item 2; src/rest/batch.ts,
// erl/mod_rest_batch.erl): a JSON array, NDJSON and several XML stanzas, each item checked as one
// stanza alone and answered alone, in order; refusals mixed with successes; the bounds; a batch
// under one Idempotency-Key; and the worker killed while batches are in flight: what the answer
// says was sent arrived once, nothing else did. A real ejabberd, a real receiving XMPP client.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import {
  bodyOf,
  eventually,
  expectNotDelivered,
  post,
  postWhenReady,
  messageXml,
  restSentinel,
  sleep,
  startSandbox,
  stopSandbox,
  suiteFailed,
  unique,
  XmppUser,
  type Reply,
} from './support.js';

const ALICE_PW = 'Al1ce-batch-pw';
const BOB_PW = 'B0b-batch-pw';
const MAX_ITEMS = 50;
const MAX_BATCH_BYTES = 1024 * 1024;
const JSON_TYPE = 'application/json';
const NDJSON = 'application/x-ndjson';
const STANZAS_XML = 'application/vnd.mod-rest.stanzas+xml';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface BatchAnswer {
  sent: number;
  refused: number;
  results: Array<{ status: number; id?: string; error?: string }>;
}

describe('the authenticated API: many stanzas in one request', function () {
  this.timeout(120_000);
  let sb: Sandbox | undefined;
  let bob: XmppUser;
  const alice = { Authorization: basic('alice', ALICE_PW) };
  const batch = (body: string, type: string, headers: Record<string, string> = alice): Promise<Reply> =>
    post(sb!, body, { headers: { ...headers, 'Content-Type': type } });
  const answerOf = (r: Reply): BatchAnswer => {
    expect([r.status, r.contentType], r.body).to.deep.equal([200, JSON_TYPE]);
    return JSON.parse(r.body) as BatchAnswer;
  };
  const statuses = (a: BatchAnswer) => a.results.map((r) => r.error ?? r.status);
  const message = (body: string, extra: Record<string, string> = {}) => ({ kind: 'message', type: 'chat', to: 'bob@localhost', body, ...extra });
  const bodies = (prefix: string) => bob.messages.map(bodyOf).filter((b): b is string => b !== null && b.startsWith(prefix));

  before(async function () {
    sb = await startSandbox('batch', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
      ],
      modRest: {
        api_max_batch_items: MAX_ITEMS,
        api_max_batch_size: MAX_BATCH_BYTES,
        allowed_destinations: ['bob@localhost', 'localhost'],
        allowed_stanza_types: ['message', 'iq'],
      },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
  });
  after(async function () {
    await bob?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('sends a JSON array as the account, in order, and answers each item with its stanza id', async function () {
    const tag = unique('arr');
    const texts = Array.from({ length: 20 }, (_, i) => `${tag}-${i}`);
    const answer = answerOf(await batch(JSON.stringify(texts.map((t) => message(t))), JSON_TYPE));
    expect([answer.sent, answer.refused]).to.deep.equal([20, 0]);
    expect(answer.results.every((r) => r.status === 202 && typeof r.id === 'string' && r.id.length > 0)).to.equal(true);
    await bob.waitForBody(texts[19]!);
    expect(bodies(tag), 'delivered once each, in the order of the array').to.deep.equal(texts);
    const delivered = bob.messages.filter((s) => bodyOf(s)?.startsWith(tag));
    expect(delivered.map((s) => s.attrs.id)).to.deep.equal(answer.results.map((r) => r.id));
    expect(delivered.every((s) => s.attrs.from === 'alice@localhost')).to.equal(true);
    const metrics = await post(sb!, null, { method: 'GET', path: '/rest/metrics' });
    expect(metrics.body).to.match(/mod_rest_batch_items_total\{outcome="sent"\} [1-9]/);
  });

  it('refuses items alone, in place, with their catalogue codes, and sends the others', async function () {
    const tag = unique('mixed');
    const items = [
      message(`${tag}-ok-0`),
      { kind: 'iq', type: 'get', to: 'localhost', ping: true }, // an iq: its reply has no place in a batch
      message(`${tag}-forged`, { from: 'bob@localhost' }), // another account as sender
      message(`${tag}-elsewhere`, { to: 'carol@localhost' }), // not in allowed_destinations
      { kind: 'presence', to: 'bob@localhost' }, // not in allowed_stanza_types
      { kind: 'nonsense' }, // not a stanza of the mapping
      message(`${tag}-ok-1`, { from: 'alice@localhost/phone' }), // the account's own full JID: kept
      message(`${tag}-ok-2`),
    ];
    const answer = answerOf(await batch(JSON.stringify(items), JSON_TYPE));
    expect(statuses(answer)).to.deep.equal([202, 'BATCH_IQ', 'FROM_NOT_ACCOUNT', 'REJECTED', 'REJECTED', 'BAD_JSON_STANZA', 202, 202]);
    expect(answer.results.map((r) => r.status)).to.deep.equal([202, 422, 403, 406, 406, 422, 202, 202]);
    expect([answer.sent, answer.refused]).to.deep.equal([3, 5]);
    await bob.waitForBody(`${tag}-ok-2`);
    await expectNotDelivered(bob, (s) => /-(forged|elsewhere)$/.test(bodyOf(s) ?? ''), restSentinel(sb!, bob));
    expect(bodies(tag)).to.deep.equal([`${tag}-ok-0`, `${tag}-ok-1`, `${tag}-ok-2`]);
  });

  it('reads NDJSON line by line: a line that does not parse is refused alone, blank lines are no items', async function () {
    const tag = unique('nd');
    const lines = [JSON.stringify(message(`${tag}-0`)), '', '{"kind": "message", "body":', JSON.stringify(message(`${tag}-1`)), '  '];
    const answer = answerOf(await batch(lines.join('\r\n'), NDJSON));
    expect(statuses(answer)).to.deep.equal([202, 'BAD_JSON', 202]);
    await bob.waitForBody(`${tag}-1`);
    expect(bodies(tag)).to.deep.equal([`${tag}-0`, `${tag}-1`]);
  });

  it('reads several XML stanzas under its own media type; application/xmpp+xml stays one stanza', async function () {
    const tag = unique('xml');
    const body = [
      `<?xml version='1.0'?>`,
      `<message to='bob@localhost' type='chat'><body>${tag}-0</body></message>`,
      `<message xmlns='jabber:server' to='bob@localhost'><body>${tag}-bad-ns</body></message>`,
      `<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
      `<message xmlns='jabber:client' to='bob@localhost' type='chat'><body>${tag}-1</body></message>`,
    ].join('\n');
    const answer = answerOf(await batch(body, STANZAS_XML));
    expect(statuses(answer)).to.deep.equal([202, 'BAD_NAMESPACE', 'BATCH_IQ', 202]);
    await bob.waitForBody(`${tag}-1`);
    expect(bodies(tag)).to.deep.equal([`${tag}-0`, `${tag}-1`]);

    const two = `<message to='bob@localhost'><body>${tag}-a</body></message><message to='bob@localhost'><body>${tag}-b</body></message>`;
    const old = await batch(two, 'application/xmpp+xml');
    expect(old.status, old.body).to.equal(400);
    const broken = await batch(`<message to='bob@localhost'><body>${tag}-c</body>`, STANZAS_XML);
    expect(broken.status, 'a body that is not well-formed is refused whole').to.equal(400);
    await expectNotDelivered(bob, (s) => /-(a|b|c)$/.test(bodyOf(s) ?? ''), restSentinel(sb!, bob));
  });

  it('refuses a batch of more than api_max_batch_items whole (413), sending nothing; a batch of exactly that many goes', async function () {
    const tag = unique('max');
    const over = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => message(`${tag}-over-${i}`));
    const refused = await batch(JSON.stringify(over), JSON_TYPE, { ...alice, Accept: JSON_TYPE });
    expect(refused.status, refused.body).to.equal(413);
    expect(JSON.parse(refused.body).error.id).to.equal('BATCH_TOO_MANY_ITEMS');
    await expectNotDelivered(bob, (s) => (bodyOf(s) ?? '').startsWith(`${tag}-over-`), restSentinel(sb!, bob));
    const exactly = Array.from({ length: MAX_ITEMS }, (_, i) => JSON.stringify(message(`${tag}-${i}`))).join('\n');
    expect(answerOf(await batch(exactly, NDJSON)).sent).to.equal(MAX_ITEMS);
    await bob.waitForBody(`${tag}-${MAX_ITEMS - 1}`);
    expect(bodies(tag)).to.have.length(MAX_ITEMS);
  });

  it('holds each item to api_max_stanza_size (refused alone), and the batch to api_max_batch_size (refused whole)', async function () {
    const tag = unique('big');
    const huge = message(`${tag}-huge-${'x'.repeat(300 * 1024)}`);
    const answer = answerOf(await batch(JSON.stringify([message(`${tag}-0`), huge, message(`${tag}-1`)]), JSON_TYPE));
    expect(statuses(answer)).to.deep.equal([202, 'STANZA_TOO_LARGE', 202]);
    await bob.waitForBody(`${tag}-1`);
    expect(bodies(tag)).to.deep.equal([`${tag}-0`, `${tag}-1`]);

    // Over api_max_batch_size, though each item is below api_max_stanza_size: nothing sent.
    const items = Array.from({ length: 5 }, (_, i) => JSON.stringify(message(`${tag}-over-${i}-${'y'.repeat(220 * 1024)}`)));
    const refused = await batch(items.join('\n'), NDJSON, { ...alice, Accept: JSON_TYPE });
    expect(refused.status, refused.body).to.equal(413);
    expect(JSON.parse(refused.body).error.id).to.equal('BATCH_TOO_LARGE');
    await expectNotDelivered(bob, (s) => (bodyOf(s) ?? '').startsWith(`${tag}-over-`), restSentinel(sb!, bob));
  });

  it('sends nothing of a batch whose credentials are refused', async function () {
    const tag = unique('noauth');
    const reply = await batch(JSON.stringify([message(`${tag}-0`)]), JSON_TYPE, { Authorization: basic('alice', 'wrong') });
    expect(reply.status).to.equal(401);
    const none = await batch(JSON.stringify([message(`${tag}-1`)]), NDJSON, {});
    expect(none.status, 'no credentials: the API tells the client to authenticate').to.equal(401);
    await expectNotDelivered(bob, (s) => (bodyOf(s) ?? '').startsWith(tag), restSentinel(sb!, bob));
  });

  it('carries out a batch under one Idempotency-Key once; the retry gets the same per-item answer', async function () {
    const tag = unique('idem');
    const body = JSON.stringify([message(`${tag}-0`), message(`${tag}-1`, { from: 'bob@localhost' }), message(`${tag}-2`)]);
    const headers = { ...alice, 'Idempotency-Key': `"${unique('key')}"` };
    const first = await batch(body, JSON_TYPE, headers);
    const again = await batch(body, JSON_TYPE, headers);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.body).to.equal(first.body);
    expect(statuses(answerOf(again))).to.deep.equal([202, 'FROM_NOT_ACCOUNT', 202]);
    await bob.waitForBody(`${tag}-2`);
    await sleep(300);
    expect(bodies(tag)).to.deep.equal([`${tag}-0`, `${tag}-2`]);
  });

  it('keeps every batch whole when the worker is killed while batches are in flight: sent once as answered, or not at all', async function () {
    const tag = unique('kill');
    const answers: Array<{ texts: string[]; reply: Reply | Error }> = [];
    // Kills from before the worker has read the batches to after the VM has sent them (a fresh
    // worker starts its large-body lane on the first large body: the late rounds leave it time).
    const delays = [0, 10, 30, 60, 120, 250, 500, 1500];
    for (const [round, delay] of delays.entries()) {
      const texts = Array.from({ length: MAX_ITEMS }, (_, i) => `${tag}-${round}-${i}`);
      // NDJSON of MAX_ITEMS messages padded past 64 KiB: the worker's large-body lane reads it.
      const body = texts.map((t) => JSON.stringify(message(t, { subject: 'p'.repeat(1500) }))).join('\n');
      const inFlight = [0, 1, 2].map((k) =>
        batch(body.replaceAll(`${tag}-${round}-`, `${tag}-${round}.${k}-`), NDJSON).then(
          (reply) => answers.push({ texts: texts.map((t) => t.replace(`${tag}-${round}-`, `${tag}-${round}.${k}-`)), reply }),
          (err: Error) => answers.push({ texts: [], reply: err }),
        ),
      );
      await sleep(delay);
      const pids = sb!.workerPids();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await Promise.all(inFlight);
      expect(await eventually(() => sb!.workerPids().some((p) => !pids.includes(p)), 10_000), 'a new worker').to.equal(true);
      await postWhenReady(sb!, messageXml('bob@localhost', 'localhost/rest', unique('ready')));
    }
    // Every request got an HTTP answer: a batch carried out (200, every item sent) or nothing done (503).
    let carriedOut = 0;
    for (const { reply } of answers) {
      expect(reply, 'an HTTP answer').to.not.be.instanceOf(Error);
      const r = reply as Reply;
      expect([200, 503], r.body).to.include(r.status);
      if (r.status === 200) {
        carriedOut++;
        expect(answerOf(r).sent).to.equal(MAX_ITEMS);
      }
    }
    const sentinel = await restSentinel(sb!, bob)();
    await bob.waitForBody(sentinel, 10_000);
    await sleep(500);
    for (const { texts, reply } of answers) {
      const wanted = (reply as Reply).status === 200 ? texts : [];
      const prefix = texts[0]!.replace(/-0$/, '-');
      expect(bodies(prefix), `the batch ${prefix} answered ${(reply as Reply).status}`).to.deep.equal(wanted);
    }
    this.test!.title += ` (${carriedOut} of ${answers.length} batches carried out)`;
  });
});

describe('the authenticated API: a batch under rate_limit_per_ip', function () {
  this.timeout(60_000);
  const LIMIT = 5;
  let sb: Sandbox | undefined;
  let bob: XmppUser;

  before(async function () {
    sb = await startSandbox('batch-rate', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
      ],
      modRest: { rate_limit_per_ip: LIMIT },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
  });
  after(async function () {
    await bob?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('counts each stanza of a batch: those past the limit are refused 429 alone, the others sent', async function () {
    const tag = unique('rate');
    const items = Array.from({ length: 8 * LIMIT }, (_, i) => ({ kind: 'message', to: 'bob@localhost', body: `${tag}-${i}` }));
    await sleep(1000); // a window of its own, as far as this suite goes
    const reply = await post(sb!, JSON.stringify(items), { headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': JSON_TYPE } });
    expect(reply.status, reply.body).to.equal(200);
    const answer = JSON.parse(reply.body) as BatchAnswer;
    const sent = answer.results.flatMap((r, i) => (r.status === 202 ? [`${tag}-${i}`] : []));
    expect(answer.results.filter((r) => r.status !== 202).every((r) => r.status === 429 && r.error === 'BATCH_RATE_LIMITED')).to.equal(true);
    // One window, or two if the batch straddled a second: never the whole batch.
    expect(sent.length).to.be.within(LIMIT, 2 * LIMIT);
    await sleep(1000);
    const sentinel = unique('rate-sentinel');
    expect((await post(sb!, messageXml('bob@localhost', 'localhost/rest', sentinel))).status).to.equal(200);
    await bob.waitForBody(sentinel);
    expect(bob.messages.map(bodyOf).filter((b) => b?.startsWith(`${tag}-`))).to.deep.equal(sent);
  });
});
