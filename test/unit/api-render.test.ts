// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API's answers: Accept negotiation, stanzas as JSON (Prosody's mapping, reply
// side) and round trips of the payload keys, error documents in each format.
import { expect } from 'chai';
import { jsonFromStanza, stanzaFromJson, type JsonObject } from '../../src/rest/jsonmap.js';
import { errorFormat, stanzaFormat } from '../../src/rest/negotiate.js';
import { renderError, renderStanza } from '../../src/rest/render.js';
import { parseStanza } from '../../src/rest/stanza.js';
import { writeXml } from '../../src/rest/xml-writer.js';

const xml = (s: string) => parseStanza(Buffer.from(s), 256);

describe('negotiate: the format of an answer', () => {
  it('follows Accept with q-values, and falls back to the body type, then XML (stanzas) or words (errors)', () => {
    expect(stanzaFormat('application/json', undefined)).to.equal('json');
    expect(stanzaFormat('application/xmpp+xml;q=0.5, application/json;q=0.9', 'application/xmpp+xml')).to.equal('json');
    expect(stanzaFormat('*/*', 'application/json')).to.equal('json');
    expect(stanzaFormat(undefined, undefined)).to.equal('xml');
    expect(stanzaFormat('text/html', 'application/xmpp+xml')).to.equal('xml');
    expect(stanzaFormat('application/x-www-form-urlencoded', 'application/json')).to.equal('form');
    expect(errorFormat('*/*', undefined)).to.equal('text');
    expect(errorFormat(undefined, 'application/json')).to.equal('json');
    expect(errorFormat('application/xmpp+xml', 'application/json')).to.equal('xml');
  });
});

describe("jsonmap: Prosody's JSON mapping, reply side", () => {
  it('maps version, disco#info (identities, features, extensions), items and lastactivity results', () => {
    expect(jsonFromStanza(xml("<iq type='result' id='1' from='localhost' to='a@localhost'><query xmlns='jabber:iq:version'><name>ejabberd</name><version>23.01</version></query></iq>"))).to.deep.equal({
      kind: 'iq', type: 'result', id: '1', from: 'localhost', to: 'a@localhost', version: { name: 'ejabberd', version: '23.01' },
    });
    const disco = jsonFromStanza(xml(
      "<iq type='result' id='2'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' name='ejabberd'/>" +
        "<feature var='urn:xmpp:ping'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:x:info</value></field>" +
        "<field var='admin' type='list-multi'><value>a@b</value></field></x></query></iq>",
    ));
    expect(disco!.disco).to.deep.equal({
      identities: [{ category: 'server', type: 'im', name: 'ejabberd' }],
      features: ['urn:xmpp:ping'],
      extensions: { 'urn:x:info': { admin: ['a@b'] } },
    });
    const items = jsonFromStanza(xml("<iq type='result' id='3'><query xmlns='http://jabber.org/protocol/disco#items'><item jid='conference.localhost' name='MUC'/></query></iq>"));
    expect(items!.items).to.deep.equal([{ jid: 'conference.localhost', name: 'MUC' }]);
    const last = jsonFromStanza(xml("<iq type='result' id='4'><query xmlns='jabber:iq:last' seconds='42'>gone</query></iq>"));
    expect(last!.lastactivity).to.deep.equal({ seconds: 42, status: 'gone' });
  });

  it('maps an error stanza to its error object, and a presence without type to available', () => {
    const err = jsonFromStanza(xml("<iq type='error' id='5' from='b@localhost/x'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone</text></error></iq>"));
    expect(err).to.deep.equal({ kind: 'iq', type: 'error', id: '5', from: 'b@localhost/x', error: { type: 'cancel', condition: 'service-unavailable', text: 'gone' } });
    expect(jsonFromStanza(xml('<presence><show>away</show><priority>5</priority></presence>'))).to.deep.equal({ kind: 'presence', type: 'available', show: 'away', priority: 5 });
  });

  it('maps a MAM page: the <xmpp> list of results, each forwarded message mapped as a stanza', () => {
    const page = jsonFromStanza(xml(
      "<xmpp><message to='a@localhost'><result xmlns='urn:xmpp:mam:2' queryid='q' id='r1'><forwarded xmlns='urn:xmpp:forward:0'>" +
        "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/><message from='b@localhost' type='chat'><body>old</body></message>" +
        "</forwarded></result></message><iq type='result' id='q1'><fin xmlns='urn:xmpp:mam:2' complete='true'>" +
        "<set xmlns='http://jabber.org/protocol/rsm'><first>r1</first><last>r1</last><count>1</count></set></fin></iq></xmpp>",
    ));
    expect(page).to.deep.equal({
      xmpp: [
        { kind: 'message', to: 'a@localhost', archive: { id: 'r1', queryid: 'q', forward: { delay: '2026-01-01T00:00:00Z', message: { kind: 'message', type: 'chat', from: 'b@localhost', body: 'old' } } } },
        { kind: 'iq', type: 'result', id: 'q1', result: { complete: true, page: { first: 'r1', last: 'r1', count: '1' } } },
      ],
    });
  });

  it('round-trips the payload keys: what a JSON object sends is what its stanza maps back to', () => {
    const samples: JsonObject[] = [
      { kind: 'message', to: 'b@localhost', body: 'hi', subject: 's', thread: { id: 't', parent: 'p' }, state: 'composing', replace: 'm0', markable: true, displayed: 'm1', reply: { id: 'm2', to: 'c@localhost' }, fallback: true, encryption: 'urn:xmpp:omemo:2', occupant_id: 'o1', oob_url: 'https://e.net/x', reactions: { id: 'm3', reactions: ['👍'] }, nick: 'Al' },
      { kind: 'presence', type: 'available', show: 'dnd', status: 'busy', priority: -1, idle_since: '2026-01-01T00:00:00Z', caps: { hash: 'sha-1', node: 'n', ver: 'v' }, vcard_update: { photo: 'abc' } },
      { kind: 'iq', type: 'set', id: 'i1', to: 'localhost', command: { node: 'ping', action: 'execute' } },
      { kind: 'iq', type: 'get', id: 'i2', to: 'localhost', disco: 'n1' },
      { kind: 'iq', type: 'set', id: 'i3', blocklist: ['x@y'] },
      { kind: 'iq', type: 'get', id: 'i4', to: 'upload.localhost', upload_request: { filename: 'a.png', size: 10, 'content-type': 'image/png' } },
      { kind: 'message', to: 'b@localhost', html: '<body><p>Hi <b>you</b></p></body>' },
    ];
    for (const sample of samples) {
      const back = jsonFromStanza(xml(writeXml(stanzaFromJson(sample))));
      expect(back, JSON.stringify(sample)).to.deep.equal(sample);
    }
  });

  it("turns Prosody's archive shortcuts into a MAM query form and page", () => {
    const iq = stanzaFromJson({ kind: 'iq', to: 'a@localhost', archive: { with: 'b@localhost', max: '10' } });
    expect(writeXml(iq).replace(/ id='[^']+'/, '')).to.equal(
      "<iq type='set' to='a@localhost'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>" +
        "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>b@localhost</value></field></x>" +
        "<set xmlns='http://jabber.org/protocol/rsm'><max>10</max></set></query></iq>",
    );
  });
});

describe('render: documents of the authenticated API', () => {
  const n = { host: 'localhost' };
  it('writes a stanza as XML by default and as JSON or form fields when asked', () => {
    const iq = xml("<iq type='result' id='1' from='localhost'/>");
    expect(renderStanza(iq, 200, n)).to.deep.equal({ kind: 'document', status: 200, headers: [], contentType: 'application/xmpp+xml', body: "<iq type='result' id='1' from='localhost'/>" });
    expect(renderStanza(iq, 200, { ...n, accept: 'application/json' }).body).to.equal('{"kind":"iq","type":"result","from":"localhost","id":"1"}');
    expect(renderStanza(iq, 200, { ...n, accept: 'application/x-www-form-urlencoded' }).body).to.equal('kind=iq&type=result&from=localhost&id=1');
  });

  it('writes an error with its status, condition and headers: words, JSON object, stream error', () => {
    const text = renderError('NO_CREDENTIALS', n);
    expect([text.status, text.contentType, text.headers]).to.deep.equal([401, 'text/plain; charset=utf-8', [['WWW-Authenticate', 'Basic realm="localhost/rest", Bearer realm="localhost/rest"']]]);
    const json = JSON.parse(String(renderError('IQ_TIMEOUT', { ...n, accept: 'application/json' }).body));
    expect(json).to.deep.equal({ type: 'error', code: 504, error: { type: 'wait', condition: 'remote-server-timeout', text: 'no answer to the iq in time.', code: 504, source: 'mod_rest', id: 'IQ_TIMEOUT' } });
    expect(renderError('AUTH_RATE_LIMITED', n).headers).to.deep.equal([['Retry-After', '60']]);
    expect(renderError('UNSUPPORTED_MEDIA_TYPE', { ...n, accept: 'application/xmpp+xml' }).body).to.match(/^<error xmlns='http:\/\/etherx.jabber.org\/streams'><bad-format /);
  });
});
