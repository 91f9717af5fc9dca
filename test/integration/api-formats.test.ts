// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API's formats: answers negotiated with Accept (XML, JSON, form; errors as
// words, Prosody's error object or an XMPP stream error), Prosody's JSON mapping both ways, the
// precise statuses (401 without credentials, 415, 422), presence, against a real ejabberd and
// a real XMPP client.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { post, startSandbox, stopSandbox, suiteFailed, unique, XmppUser, type Reply } from './support.js';

const ALICE_PW = 'Al1ce-fmt-pw-3d';
const BOB_PW = 'B0b-fmt-pw-9a';
const JSON_TYPE = 'application/json';
const XML = 'application/xmpp+xml';
const REALM = 'Basic realm="localhost/rest", Bearer realm="localhost/rest"';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the authenticated API: formats, negotiation and statuses', function () {
  let sb: Sandbox | undefined;
  let bob: XmppUser;
  const alice = { Authorization: basic('alice', ALICE_PW) };
  const get = (path: string, accept = JSON_TYPE): Promise<Reply> =>
    post(sb!, null, { method: 'GET', path, headers: { ...alice, Accept: accept } });
  const send = (body: string, type: string, extra: Record<string, string> = {}, path = '/rest'): Promise<Reply> =>
    post(sb!, body, { path, headers: { ...alice, 'Content-Type': type, ...extra } });
  const json = (r: Reply) => {
    expect(r.contentType, r.body).to.equal(JSON_TYPE);
    return JSON.parse(r.body) as Record<string, unknown>;
  };

  before(async function () {
    sb = await startSandbox('api-formats', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
      ],
      modRest: { iq_timeout: '5 seconds' },
      config: { modules: { mod_roster: {}, mod_disco: {}, mod_version: {}, mod_ping: {}, mod_last: {} } },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
  });
  after(async function () {
    await bob?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('answers GET queries in JSON when Accept asks: version, disco, items, ping, lastactivity', async function () {
    const version = json(await get('/rest/version/localhost'));
    expect(version).to.include({ kind: 'iq', type: 'result', from: 'localhost', to: 'alice@localhost' });
    expect((version.version as Record<string, string>).name).to.equal('ejabberd');
    const disco = json(await get('/rest/disco/localhost')).disco as { identities: unknown[]; features: string[] };
    expect(disco.features).to.include.members(['urn:xmpp:ping', 'jabber:iq:version']);
    expect(disco.identities).to.deep.include({ category: 'server', type: 'im', name: 'ejabberd' });
    expect(json(await get('/rest/items/localhost')).items).to.satisfy((v: unknown) => v === true || Array.isArray(v));
    expect(json(await get('/rest/ping/localhost'))).to.include({ kind: 'iq', type: 'result' });
    const last = json(await get('/rest/lastactivity/localhost')).lastactivity as { seconds: number };
    expect(last.seconds).to.be.a('number').at.least(0);
  });

  it('follows Accept over the body type: JSON in, XML or form fields out', async function () {
    const body = JSON.stringify({ kind: 'iq', to: 'localhost', version: {} });
    const xml = await send(body, JSON_TYPE, { Accept: XML });
    expect([xml.status, xml.contentType]).to.deep.equal([200, XML]);
    expect(xml.body).to.match(/^<iq [^>]*type='result'/).and.include('<name>ejabberd</name>');
    const form = await send(body, JSON_TYPE, { Accept: 'application/x-www-form-urlencoded' });
    expect([form.status, form.contentType]).to.deep.equal([200, 'application/x-www-form-urlencoded']);
    expect(Object.fromEntries(new URLSearchParams(form.body))).to.include({ kind: 'iq', type: 'result', from: 'localhost' });
  });

  it("maps an iq error to its status and Prosody's error shape: an offline full JID is 503 service-unavailable", async function () {
    const reply = await send(JSON.stringify({ kind: 'iq', to: 'bob@localhost/gone', ping: true }), JSON_TYPE);
    expect(reply.status).to.equal(503);
    const body = json(reply);
    expect(body).to.include({ kind: 'iq', type: 'error', from: 'bob@localhost/gone' });
    expect(body.error).to.include({ type: 'cancel', condition: 'service-unavailable' });
  });

  it('writes refusals as words, a JSON error object or an XMPP stream error, as Accept asks', async function () {
    const wrong = (accept: string) => post(sb!, '<message to="bob@localhost"/>', { headers: { Authorization: basic('alice', 'bad'), Accept: accept } });
    const text = await wrong('*/*');
    expect([text.status, text.contentType, text.body]).to.deep.equal([401, 'text/plain; charset=utf-8', 'Error: invalid credentials.']);
    expect(text.headers['www-authenticate']).to.equal(REALM);
    const object = await wrong(JSON_TYPE);
    expect(object.status).to.equal(401);
    expect(json(object)).to.deep.equal({
      type: 'error',
      code: 401,
      error: { type: 'auth', condition: 'not-authorized', text: 'invalid credentials.', code: 401, source: 'mod_rest', id: 'INVALID_CREDENTIALS' },
    });
    const stream = await wrong(XML);
    expect([stream.status, stream.contentType]).to.deep.equal([401, XML]);
    expect(stream.body).to.equal(
      "<error xmlns='http://etherx.jabber.org/streams'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>invalid credentials.</text></error>",
    );
  });

  it('reads the Authorization scheme whatever its case (RFC 9110 §11.1): basic, BASIC', async function () {
    for (const scheme of ['basic', 'BASIC']) {
      const text = unique(`api-${scheme}`);
      const header = `${scheme} ${Buffer.from(`alice:${ALICE_PW}`).toString('base64')}`;
      const reply = await post(sb!, `<message to="bob@localhost"><body>${text}</body></message>`, { headers: { Authorization: header } });
      expect(reply.status, scheme).to.equal(202);
      expect((await bob.waitForBody(text)).attrs.from).to.equal('alice@localhost');
    }
    const wrong = await post(sb!, '<message to="bob@localhost"/>', { headers: { Authorization: `basic ${Buffer.from('alice:nope').toString('base64')}` } });
    expect([wrong.status, wrong.body]).to.deep.equal([401, 'Error: invalid credentials.']);
  });

  it("tells a request in the API's shape without credentials to authenticate, and leaves the original's alone", async function () {
    for (const type of [JSON_TYPE, XML]) {
      const r = await post(sb!, JSON.stringify({ to: 'bob@localhost', body: 'x' }), { headers: { 'Content-Type': type } });
      expect([r.status, r.headers['www-authenticate']], type).to.deep.equal([401, REALM]);
    }
    const echo = await post(sb!, '<message to="bob@localhost"/>', { path: '/rest/echo' });
    expect(echo.status).to.equal(401);
    // curl -d's type, no credentials: the original protocol, unchanged.
    const legacy = await post(sb!, '<message from="localhost" to="bob@localhost"><body>legacy</body></message>', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect([legacy.status, legacy.body]).to.deep.equal([200, 'Ok']);
  });

  it('answers 415 to a media type the API does not read, 400 to XML that is not well-formed', async function () {
    const png = await send('\x89PNG', 'image/png', { Accept: JSON_TYPE });
    expect(png.status).to.equal(415);
    expect((json(png).error as Record<string, string>).condition).to.equal('bad-format');
    const broken = await send('<message to="bob@localhost"><body>x</bod></message>', XML);
    expect([broken.status, broken.body]).to.deep.equal([400, 'Error: the body is not one well-formed XML element: malformed xml.']);
  });

  it('answers 422 to what is not a valid stanza: an iq with two payloads, a bad JID, an unknown element, a foreign namespace', async function () {
    const two = await send('<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/><query xmlns="jabber:iq:version"/></iq>', XML);
    expect([two.status, two.body]).to.deep.equal([422, 'Error: an iq get or set must have exactly one child element.']);
    const none = await send('<iq type="get" to="localhost"/>', XML);
    expect(none.status).to.equal(422);
    const badJid = await send('<message to="a@b@c"><body>x</body></message>', XML);
    expect(badJid.status).to.equal(422);
    expect(badJid.body).to.match(/^Error: not a valid stanza: /);
    for (const body of ['<foo/>', '<message xmlns="urn:example" to="bob@localhost"/>']) {
      const r = await send(body, XML);
      expect(r.status, body).to.equal(422);
    }
  });

  it('sends a presence as the account (202), delivered to the client it is addressed to', async function () {
    const status = unique('api-presence');
    const reply = await send(JSON.stringify({ kind: 'presence', to: 'bob@localhost/desk', show: 'dnd', status }), JSON_TYPE);
    expect([reply.status, reply.body]).to.deep.equal([202, '']);
    const got = await bob.waitFor((s) => s.is('presence') && s.getChildText('status') === status);
    expect([got.attrs.from, got.getChildText('show')]).to.deep.equal(['alice@localhost', 'dnd']);
  });

  it("delivers the payloads of Prosody's mapping: html, oob_url, state, thread, replace", async function () {
    const text = unique('api-payloads');
    const message = { to: 'bob@localhost', body: text, html: '<p>Hi <b>there</b></p>', oob_url: 'https://example.net/a.png', state: 'active', thread: 't-1', replace: 'old-1' };
    const reply = await send(JSON.stringify(message), JSON_TYPE);
    expect(reply.status).to.equal(202);
    const got = await bob.waitForBody(text);
    expect(got.getChild('html', 'http://jabber.org/protocol/xhtml-im')?.getChild('body')?.toString()).to.equal(
      '<body xmlns="http://www.w3.org/1999/xhtml"><p>Hi <b>there</b></p></body>',
    );
    expect(got.getChild('x', 'jabber:x:oob')?.getChildText('url')).to.equal('https://example.net/a.png');
    expect(got.getChild('active', 'http://jabber.org/protocol/chatstates')).to.not.equal(undefined);
    expect(got.getChildText('thread')).to.equal('t-1');
    expect(got.getChild('replace', 'urn:xmpp:message-correct:0')?.attrs.id).to.equal('old-1');
  });

  it('echoes a JSON stanza as JSON, with the sender bound', async function () {
    const reply = await send(JSON.stringify({ to: 'bob@localhost', body: 'echoed' }), JSON_TYPE, {}, '/rest/echo');
    expect(reply.status).to.equal(200);
    expect(json(reply)).to.include({ kind: 'message', to: 'bob@localhost', from: 'alice@localhost', body: 'echoed' });
  });

  it('takes a presence and an iq by path: POST /rest/presence/{type}/{to}, POST /rest/iq/{payload}/{to}', async function () {
    const reply = await post(sb!, 'away', { path: '/rest/presence/available/bob@localhost', headers: { ...alice, 'Content-Type': 'text/plain' } });
    expect(reply.status).to.equal(202);
    await bob.waitFor((s) => s.is('presence') && s.attrs.from === 'alice@localhost' && s.getChildText('show') === 'away');
    const version = await post(sb!, '{}', { path: '/rest/iq/version/localhost', headers: { ...alice, 'Content-Type': JSON_TYPE } });
    expect(version.status).to.equal(200);
    expect((json(version).version as Record<string, string>).name).to.equal('ejabberd');
  });
});
