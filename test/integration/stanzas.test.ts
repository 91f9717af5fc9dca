// SPDX-License-Identifier: GPL-2.0-or-later
// Stanzas POSTed to /rest against a real ejabberd, received by a real XMPP client.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import {
  bodyOf,
  expectNotDelivered,
  messageXml,
  post,
  restSentinel,
  startSandbox,
  stopSandbox,
  suiteFailed,
  unique,
  XmppUser,
} from './support.js';

const REJECTED = 'Error: REST request is rejected by service.';
const TEXT_PLAIN = 'text/plain; charset=utf-8';

describe('mod_rest stanzas (a real ejabberd and a real XMPP client)', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;

  before(async function () {
    sb = await startSandbox('stanzas', {
      users: [
        ['alice', 'alice-pw'],
        ['bob', 'bob-pw'],
        ['admin', 'admin-pw'],
      ],
      // Two tests probe the Host header with a command.
      modRest: { access_commands: 'open' },
    });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });

  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  const server = (): Sandbox => sb!;
  const notDelivered = (tokens: string[]): Promise<void> =>
    expectNotDelivered(alice, (s) => tokens.some((t) => (bodyOf(s) ?? '').includes(t)), restSentinel(server(), alice));

  it('answers 200 Ok in text/plain to a message from the server and delivers it to the user', async function () {
    const text = unique('hello');
    const reply = await post(server(), messageXml('alice@localhost', 'localhost/rest', text));
    expect(reply.status).to.equal(200);
    expect(reply.body).to.equal('Ok');
    expect(reply.contentType).to.equal(TEXT_PLAIN);
    const got = await alice.waitForBody(text);
    expect(got.attrs.from).to.equal('localhost/rest');
    expect(got.attrs.to).to.equal('alice@localhost');
  });

  it('treats a body with whitespace and newlines before the first < as a stanza', async function () {
    const text = unique('leading-space');
    const reply = await post(server(), `\r\n \t\n  ${messageXml('alice@localhost', 'localhost/rest', text)}`);
    expect(reply.status).to.equal(200);
    expect(reply.body).to.equal('Ok');
    await alice.waitForBody(text);
  });

  it('accepts an XML declaration before the stanza', async function () {
    const text = unique('xml-decl');
    const reply = await post(server(), `<?xml version="1.0" encoding="UTF-8"?>\n${messageXml('alice@localhost', 'localhost/rest', text)}`);
    expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
    await alice.waitForBody(text);
  });

  it("refuses with 403 a message in a user's name (allowed_senders: the vhost alone) and delivers nothing", async function () {
    const text = unique('from-bob');
    const reply = await post(server(), messageXml('alice@localhost', 'bob@localhost/x', text));
    expect([reply.status, reply.body]).to.deep.equal([403, "Error: the stanza's 'from' is not in allowed_senders."]);
    await notDelivered([text]);
  });

  it('rejects malformed XML, a DOCTYPE and a processing instruction with 406 and delivers none of them', async function () {
    const tokens: string[] = [];
    const token = (name: string): string => {
      const t = unique(name);
      tokens.push(t);
      return t;
    };
    const bodies = [
      `<message to="alice@localhost" from="localhost/rest"><body>${token('unclosed')}</body>`,
      `<message to="alice@localhost" from="localhost/rest"><body>${token('bare-amp')} & co</body></message>`,
      `<!DOCTYPE message><message to="alice@localhost" from="localhost/rest"><body>${token('doctype')}</body></message>`,
      `<?pi x?><message to="alice@localhost" from="localhost/rest"><body>${token('pi')}</body></message>`,
    ];
    for (const body of bodies) {
      const reply = await post(server(), body);
      expect(reply.status, body).to.equal(406);
      expect(reply.body, body).to.equal(REJECTED);
      expect(reply.contentType).to.equal(TEXT_PLAIN);
    }
    await notDelivered(tokens);
  });

  it("answers 400 to a stanza without a 'from' attribute and does not deliver it", async function () {
    const text = unique('no-from');
    const reply = await post(server(), messageXml('alice@localhost', null, text));
    expect(reply.status).to.equal(400);
    expect(reply.body).to.equal("Error: the stanza has no 'from' attribute.");
    await notDelivered([text]);
  });

  it('answers 500 Error: xmpp_codec to a well-formed element that is not a stanza', async function () {
    const reply = await post(server(), '<foo/>');
    expect(reply.status).to.equal(500);
    expect(reply.body).to.equal('Error: xmpp_codec');
  });

  it('rejects invalid UTF-8 with 406 in a stanza and 400 in a command line', async function () {
    const text = unique('bad-utf8');
    const stanza = Buffer.concat([
      Buffer.from(`<message to="alice@localhost" from="localhost/rest"><body>${text} `),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('</body></message>'),
    ]);
    const asStanza = await post(server(), stanza);
    expect(asStanza.status).to.equal(406);
    expect(asStanza.body).to.equal(REJECTED);

    const command = Buffer.concat([Buffer.from('registered_users '), Buffer.from([0xc3, 0x28])]);
    const asCommand = await post(server(), command);
    expect(asCommand.status).to.equal(400);
    expect(asCommand.body).to.equal('Error: the command line is not valid UTF-8.');
    await notDelivered([text]);
  });

  it('answers Try POSTing a stanza. to GET /rest and to POST /rest/x, and an empty 200 to HEAD', async function () {
    const get = await post(server(), null, { method: 'GET' });
    expect([get.status, get.body]).to.deep.equal([200, 'Try POSTing a stanza.']);
    const token = unique('subpath');
    const sub = await post(server(), messageXml('alice@localhost', 'localhost/rest', token), { path: '/rest/x' });
    expect([sub.status, sub.body]).to.deep.equal([200, 'Try POSTing a stanza.']);
    const head = await post(server(), null, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.raw.length).to.equal(0);
    await notDelivered([token]);
  });

  it('delivers a 1 MiB message body intact', async function () {
    const marker = unique('big');
    // Letters, digits, multi-byte characters and escaped markup: 1 MiB of UTF-8 text in all.
    const unit = 'abcdefghijklmnopqrstuvwxyz0123456789 é€𝄞 <&>"\n';
    const head = `${marker} `;
    const repeats = Math.ceil((1024 * 1024 - Buffer.byteLength(head)) / Buffer.byteLength(unit));
    const text = head + unit.repeat(repeats);
    expect(Buffer.byteLength(text)).to.be.at.least(1024 * 1024);
    const reply = await post(server(), messageXml('alice@localhost', 'localhost/rest', text));
    expect(reply.status).to.equal(200);
    const got = await alice.waitFor((s) => (bodyOf(s) ?? '').startsWith(marker), 15_000);
    expect(bodyOf(got)!.length).to.equal(text.length);
    expect(bodyOf(got) === text, 'the delivered body equals the posted one').to.equal(true);
  });

  for (const host of ['127.0.0.1', 'unknown.example']) {
    it(`serves a request whose Host header is ${host} on the first virtual host`, async function () {
      const reply = await post(server(), 'registered_users localhost', { host });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.equal('admin\nalice\nbob');
    });
  }
});
