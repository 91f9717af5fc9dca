// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { RestError } from '../../src/rest/errors.js';
import { parseFormBody, parseJsonBody, stanzaFromJson } from '../../src/rest/jsonmap.js';

const refusal = (f: () => unknown): RestError => {
  try {
    f();
  } catch (err) {
    return err as RestError;
  }
  throw new Error('no refusal');
};

describe("jsonmap: Prosody's JSON mapping, request side", () => {
  it('maps a message with body, subject, thread and oob_url', () => {
    const msg = stanzaFromJson({ kind: 'message', type: 'chat', to: 'bob@localhost', id: 'm1', body: 'hi', subject: 's', thread: 't', oob_url: 'https://example.net/x' });
    expect(msg).to.deep.equal({
      name: 'message',
      attrs: [['type', 'chat'], ['to', 'bob@localhost'], ['id', 'm1']],
      children: [
        { name: 'body', attrs: [], children: ['hi'] },
        { name: 'subject', attrs: [], children: ['s'] },
        { name: 'thread', attrs: [], children: ['t'] },
        { name: 'x', attrs: [['xmlns', 'jabber:x:oob']], children: [{ name: 'url', attrs: [], children: ['https://example.net/x'] }] },
      ],
    });
  });

  it('takes a message when kind is absent, and a presence with show, status and priority', () => {
    expect(stanzaFromJson({ to: 'bob@localhost', body: 'x' }).name).to.equal('message');
    const p = stanzaFromJson({ kind: 'presence', show: 'away', status: 'out', priority: 5 });
    expect(p.children.map((c) => (typeof c === 'string' ? c : [c.name, c.children[0]]))).to.deep.equal([['show', 'away'], ['status', 'out'], ['priority', '5']]);
  });

  it('maps an iq with one of ping, version, disco (a node too), items; type get and an id by default', () => {
    const ping = stanzaFromJson({ kind: 'iq', to: 'localhost', ping: true });
    const attrs = Object.fromEntries(ping.attrs);
    expect([attrs.type, attrs.to]).to.deep.equal(['get', 'localhost']);
    expect(attrs.id).to.match(/^[0-9a-f-]{36}$/);
    expect(ping.children).to.deep.equal([{ name: 'ping', attrs: [['xmlns', 'urn:xmpp:ping']], children: [] }]);
    const disco = stanzaFromJson({ kind: 'iq', to: 'localhost', disco: 'http://jabber.org/protocol/commands' });
    expect(disco.children[0]).to.deep.equal({ name: 'query', attrs: [['xmlns', 'http://jabber.org/protocol/disco#info'], ['node', 'http://jabber.org/protocol/commands']], children: [] });
    expect(refusal(() => stanzaFromJson({ kind: 'iq', to: 'localhost' })).code).to.equal('BAD_JSON_STANZA');
    expect(refusal(() => stanzaFromJson({ kind: 'iq', to: 'localhost', ping: true, version: true })).code).to.equal('BAD_JSON_STANZA');
  });

  it('refuses an unknown kind, a non-object, and a non-string value (422); a body that does not parse (400)', () => {
    expect(refusal(() => stanzaFromJson({ kind: 'foo' })).status).to.equal(422);
    expect(refusal(() => stanzaFromJson([1, 2])).status).to.equal(422);
    expect(refusal(() => stanzaFromJson({ body: { nested: true } })).status).to.equal(422);
    expect(refusal(() => parseJsonBody(Buffer.from('{"kind":'))).status).to.equal(400);
    expect(refusal(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d]))).status).to.equal(400);
  });

  it('reads form fields with the same keys', () => {
    expect(parseFormBody(Buffer.from('kind=message&to=bob%40localhost&body=h%C3%A9+llo'))).to.deep.equal({ kind: 'message', to: 'bob@localhost', body: 'hé llo' });
  });
});
