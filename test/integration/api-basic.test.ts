// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API, first part: HTTP Basic credentials of a local account; the sender is
// that account (stamped, kept, or refused); an iq's reply is the answer; real XMPP clients on
// the other end. Legacy requests (no Authorization header) are covered by the other suites.
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, post, startSandbox, stopSandbox, suiteFailed, unique, XmppUser, type Reply } from './support.js';

const ALICE_PW = 'Al1ce-api-pw-7c';
const BOB_PW = 'B0b-api-pw-2e';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const XML = 'application/xmpp+xml';

describe('the authenticated API: Basic credentials, the sender bound to the account, iq replies', function () {
  let sb: Sandbox | undefined;
  let bob: XmppUser;
  const as = (user: string, password: string, body: string): Promise<Reply> =>
    post(sb!, body, { headers: { Authorization: basic(user, password), 'Content-Type': XML } });

  before(async function () {
    sb = await startSandbox('api-basic', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
        ['admin', 'admin-pw'],
      ],
      modRest: { iq_timeout: '3 seconds', iq_max_timeout: '2 seconds' },
      config: { modules: { mod_roster: {}, mod_disco: {}, mod_version: {}, mod_ping: {} } },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
  });
  after(async function () {
    await bob?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it("answers 202 to a message without from, delivered from the account's bare JID", async function () {
    const text = unique('api-stamped');
    const reply = await as('alice', ALICE_PW, `<message to="bob@localhost"><body>${text}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([202, '']);
    expect((await bob.waitForBody(text)).attrs.from).to.equal('alice@localhost');
  });

  it("keeps a from that is the account's own full JID, and takes user@vhost as the user", async function () {
    const text = unique('api-full');
    const reply = await as('alice@localhost', ALICE_PW, `<message from="alice@localhost/laptop" to="bob@localhost"><body>${text}</body></message>`);
    expect(reply.status).to.equal(202);
    expect((await bob.waitForBody(text)).attrs.from).to.equal('alice@localhost/laptop');
  });

  it('refuses with 403 a from of another account, and delivers nothing', async function () {
    const text = unique('api-spoof');
    const reply = await as('alice', ALICE_PW, `<message from="admin@localhost" to="bob@localhost"><body>${text}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([403, "Error: the stanza's 'from' is not the authenticated account."]);
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.received((s) => bodyOf(s) === text)).to.have.length(0);
  });

  it('answers a wrong password and an unknown user alike: 401 with WWW-Authenticate', async function () {
    const wrong = await as('alice', 'not-her-password', '<message to="bob@localhost"><body>x</body></message>');
    const unknown = await as('nobody', 'not-her-password', '<message to="bob@localhost"><body>x</body></message>');
    for (const r of [wrong, unknown]) {
      expect([r.status, r.body]).to.deep.equal([401, 'Error: invalid credentials.']);
      expect(r.headers['www-authenticate']).to.equal('Basic realm="localhost/rest", Bearer realm="localhost/rest"');
    }
  });

  it('answers an iq to the server with its result, in XML, with the caller\'s own id', async function () {
    const reply = await as('alice', ALICE_PW, '<iq type="get" id="v1" to="localhost"><query xmlns="jabber:iq:version"/></iq>');
    expect(reply.status).to.equal(200);
    expect(reply.contentType).to.equal(XML);
    expect(reply.body).to.match(/^<iq /);
    expect(reply.body).to.include("id='v1'");
    expect(reply.body).to.include("type='result'");
    expect(reply.body).to.include('<name>ejabberd</name>');
  });

  it('answers an iq that a logged-in client answers, and an iq to an offline full JID with 503', async function () {
    bob.answerIq('urn:example:echo', 'query', () => xml('query', { xmlns: 'urn:example:echo' }, xml('said', {}, 'hello from bob')));
    const answered = await as('alice', ALICE_PW, `<iq type="get" id="e1" to="${bob.jid}"><query xmlns="urn:example:echo"/></iq>`);
    expect(answered.status).to.equal(200);
    expect(answered.body).to.include('hello from bob');
    expect(answered.body).to.include("id='e1'");
    const offline = await as('alice', ALICE_PW, '<iq type="get" id="o1" to="bob@localhost/nowhere"><ping xmlns="urn:xmpp:ping"/></iq>');
    expect(offline.status).to.equal(503);
    expect(offline.body).to.include('service-unavailable');
  });

  it('gives each of two users their own reply to concurrent iqs with equal ids', async function () {
    const [a, b] = await Promise.all([
      as('alice', ALICE_PW, `<iq type="get" id="same" to="${bob.jid}"><query xmlns="urn:example:echo"/></iq>`),
      as('admin', 'admin-pw', `<iq type="get" id="same" to="${bob.jid}"><query xmlns="urn:example:echo"/></iq>`),
    ]);
    expect(a.status).to.equal(200);
    expect(b.status).to.equal(200);
    expect(a.body).to.include("to='alice@localhost'");
    expect(b.body).to.include("to='admin@localhost'");
  });

  it('answers 504 when nobody answers the iq in time (iq_timeout)', async function () {
    bob.answerIq('urn:example:echo', 'query', null); // bob's client now leaves them unanswered
    const started = Date.now();
    const reply = await as('alice', ALICE_PW, `<iq type="get" id="t1" to="${bob.jid}"><query xmlns="urn:example:echo"/></iq>`);
    expect([reply.status, reply.body]).to.deep.equal([504, 'Error: no answer to the iq in time.']);
    expect(Date.now() - started).to.be.within(2_500, 6_000);
  });

  it('waits as long as the Prosody-Rest-Timeout header asks, at most iq_max_timeout', async function () {
    const ask = async (seconds: string) => {
      const started = Date.now();
      const reply = await post(sb!, `<iq type="get" id="h1" to="${bob.jid}"><query xmlns="urn:example:echo"/></iq>`, {
        headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': XML, 'Prosody-Rest-Timeout': seconds },
      });
      expect(reply.status).to.equal(504);
      return Date.now() - started;
    };
    expect(await ask('1'), 'ms for a 1 s wait').to.be.within(900, 2_800);
    expect(await ask('100'), 'ms for 100 s, capped at 2 s').to.be.within(1_900, 3_900);
  });

  it('answers POST /rest/echo with the stanza as it would be sent, and sends nothing', async function () {
    const text = unique('api-echo');
    const reply = await post(sb!, `<message to="bob@localhost"><body>${text}</body></message>`, {
      path: '/rest/echo',
      headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': XML },
    });
    expect([reply.status, reply.contentType]).to.deep.equal([200, XML]);
    expect(reply.body).to.include("from='alice@localhost'");
    expect(reply.body).to.include(text);
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.received((st) => bodyOf(st) === text)).to.have.length(0);
    const spoofed = await post(sb!, '<message from="admin@localhost" to="bob@localhost"/>', {
      path: '/rest/echo',
      headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': XML },
    });
    expect(spoofed.status).to.equal(403);
  });

  it('answers GET /rest/{query}/{to} with the reply to that iq: ping, version, disco', async function () {
    const get = (path: string) => post(sb!, null, { method: 'GET', path, headers: { Authorization: basic('alice', ALICE_PW) } });
    const ping = await get('/rest/ping/localhost');
    expect([ping.status, ping.contentType]).to.deep.equal([200, XML]);
    expect(ping.body).to.match(/^<iq [^>]*type='result'/);
    const version = await get('/rest/version/localhost');
    expect(version.body).to.include('<name>ejabberd</name>');
    const disco = await get('/rest/disco/localhost');
    expect(disco.body).to.include('http://jabber.org/protocol/disco#info');
    const unknown = await get('/rest/bogus/localhost');
    expect([unknown.status, unknown.body]).to.deep.equal([404, 'Error: no such path in the REST API.']);
    // Without credentials, a path of the API is told to authenticate; another sub-path keeps the original's answer.
    const anonymous = await post(sb!, null, { method: 'GET', path: '/rest/ping/localhost' });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers['www-authenticate']).to.equal('Basic realm="localhost/rest", Bearer realm="localhost/rest"');
    const legacy = await post(sb!, null, { method: 'GET', path: '/rest/some/thing/else' });
    expect([legacy.status, legacy.body]).to.deep.equal([200, 'Try POSTing a stanza.']);
  });

  it('sends POST /rest/message/{type}/{to} with a text body as a message of that type', async function () {
    const text = unique('api-path');
    const reply = await post(sb!, text, {
      path: '/rest/message/chat/bob@localhost',
      headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': 'text/plain' },
    });
    expect([reply.status, reply.body]).to.deep.equal([202, '']);
    const got = await bob.waitForBody(text);
    expect([got.attrs.from, got.attrs.type]).to.deep.equal(['alice@localhost', 'chat']);
  });

  it("sends JSON and form bodies in Prosody's mapping, and refuses JSON that does not parse or map", async function () {
    const send = (body: string, type: string) => post(sb!, body, { headers: { Authorization: basic('alice', ALICE_PW), 'Content-Type': type } });
    const jsonText = unique('api-json');
    const json = await send(JSON.stringify({ kind: 'message', type: 'chat', to: 'bob@localhost', body: jsonText }), 'application/json');
    expect([json.status, json.body]).to.deep.equal([202, '']);
    const got = await bob.waitForBody(jsonText);
    expect([got.attrs.from, got.attrs.type]).to.deep.equal(['alice@localhost', 'chat']);
    const formText = unique('api-form');
    const form = await send(`to=bob%40localhost&body=${encodeURIComponent(formText)}`, 'application/x-www-form-urlencoded');
    expect(form.status).to.equal(202);
    await bob.waitForBody(formText);
    const ping = await send(JSON.stringify({ kind: 'iq', to: 'localhost', ping: true }), 'application/json; charset=utf-8');
    // JSON in, JSON out (as Prosody: the body's type when Accept names none).
    expect([ping.status, ping.contentType]).to.deep.equal([200, 'application/json']);
    expect(JSON.parse(ping.body)).to.include({ kind: 'iq', type: 'result', from: 'localhost', to: 'alice@localhost' });
    const broken = await send('{"kind":', 'application/json');
    // A JSON body's refusals come back as JSON error objects.
    expect(broken.status).to.equal(400);
    expect(JSON.parse(broken.body).error).to.include({ condition: 'not-well-formed', id: 'BAD_JSON' });
    const unknown = await send(JSON.stringify({ kind: 'foo', to: 'bob@localhost' }), 'application/json');
    expect(unknown.status).to.equal(422);
    expect(JSON.parse(unknown.body).error).to.include({ id: 'BAD_JSON_STANZA', text: "the JSON body is not a stanza Prosody's mapping knows: unknown kind 'foo'." });
  });

  it('runs a command line sent with Authorization as that account (here refused: not an admin)', async function () {
    const refused = await post(sb!, 'registered_users localhost', { headers: { Authorization: basic('alice', ALICE_PW) } });
    expect([refused.status, refused.body]).to.deep.equal([403, "Error: alice@localhost is not allowed to run 'registered_users'."]);
    const admin = await post(sb!, 'connected_users_number', { headers: { Authorization: basic('admin', 'admin-pw') } });
    expect([admin.status, admin.body]).to.deep.equal([200, '1']);
  });
});
