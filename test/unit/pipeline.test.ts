// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { CATALOGUE, RestError, toAnswer } from '../../src/rest/errors.js';
import { compilePolicy, handleRequest, looksLikeXml } from '../../src/rest/pipeline.js';
import type { Action, HostPolicy, RestRequest, XmlElement } from '../../src/rest/types.js';

const OPEN: HostPolicy = { allowedIps: [], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: null };
const MESSAGE = "<message from='a@localhost' to='nolan@localhost' type='chat'><body>hi</body></message>";

function request(body: string | Buffer, over: Partial<RestRequest> = {}): RestRequest {
  return {
    method: 'POST',
    path: [],
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    ip: '127.0.0.1',
    host: 'localhost',
    ...over,
  };
}

function run(body: string | Buffer, policy: Partial<HostPolicy> = {}, over: Partial<RestRequest> = {}): Action {
  return handleRequest(request(body, over), compilePolicy({ ...OPEN, ...policy }));
}

const answer = (code: keyof typeof CATALOGUE): Action => ({ kind: 'answer', status: CATALOGUE[code].status, body: CATALOGUE[code].body });
/** The API's answer for a catalogue entry, in words (no Accept). */
const apiAnswer = (code: keyof typeof CATALOGUE): Action => ({
  kind: 'document',
  status: CATALOGUE[code].status,
  headers: CATALOGUE[code].status === 401 ? [['WWW-Authenticate', 'Basic realm="localhost/rest", Bearer realm="localhost/rest"']] : [],
  contentType: 'text/plain; charset=utf-8',
  body: CATALOGUE[code].body,
});

describe('errors: catalogue and toAnswer', () => {
  it('keeps the bodies of the original module byte for byte', () => {
    expect(CATALOGUE.NOT_POST).to.deep.equal({ status: 200, body: 'Try POSTing a stanza.' });
    expect(CATALOGUE.REJECTED).to.deep.equal({ status: 406, body: 'Error: REST request is rejected by service.' });
  });

  it('turns a RestError into its own answer and keeps the reason out of the body', () => {
    const err = new RestError('REJECTED', 'ip not allowed');
    expect(err.reason).to.equal('ip not allowed');
    expect(toAnswer(err)).to.deep.equal(answer('REJECTED'));
  });

  it('turns anything else into a 500 answer', () => {
    for (const thrown of [new Error('boom'), 'string', undefined, null]) {
      expect(toAnswer(thrown)).to.deep.equal({ kind: 'answer', status: 500, body: 'Error: internal error in the REST worker.' });
    }
  });
});

describe('pipeline: handleRequest', () => {
  it('routes a valid stanza', () => {
    const action = run(MESSAGE);
    expect(action.kind).to.equal('route');
    if (action.kind === 'route') expect(action.stanza.name).to.equal('message');
  });

  it('answers Try POSTing to any other method or to a sub-path', () => {
    expect(run(MESSAGE, {}, { method: 'GET' })).to.deep.equal(answer('NOT_POST'));
    expect(run(MESSAGE, {}, { method: 'HEAD' })).to.deep.equal(answer('NOT_POST'));
    expect(run(MESSAGE, {}, { path: ['x'] })).to.deep.equal(answer('NOT_POST'));
  });

  it('checks the method before the peer IP', () => {
    expect(run(MESSAGE, { allowedIps: ['10.0.0.0/8'] }, { method: 'GET' })).to.deep.equal(answer('NOT_POST'));
  });

  it('checks the peer IP before parsing the body', () => {
    const errors: unknown[] = [];
    const policy = compilePolicy({ ...OPEN, allowedIps: ['10.0.0.0/8'] });
    const action = handleRequest(request(Buffer.from([0x3c, 0xff, 0xfe])), policy, (e) => errors.push(e));
    expect(action).to.deep.equal(answer('REJECTED'));
    expect((errors[0] as RestError).reason).to.equal('ip not allowed');
  });

  it('lets an IPv4-mapped peer through an IPv4 allowed_ips entry', () => {
    expect(run(MESSAGE, { allowedIps: ['127.0.0.1/32'] }, { ip: '::ffff:127.0.0.1' }).kind).to.equal('route');
  });

  it('treats a body with whitespace or a BOM before < as a stanza, not a command', () => {
    expect(run(`\r\n  \t${MESSAGE}\n`).kind).to.equal('route');
    expect(run(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(` ${MESSAGE}`)])).kind).to.equal('route');
    expect(looksLikeXml(Buffer.from('  registered_users <x>'))).to.equal(false);
    expect(looksLikeXml(Buffer.from(''))).to.equal(false);
  });

  it('sends a body that does not start with < down the command path', () => {
    expect(run('registered_users localhost')).to.deep.equal({
      kind: 'command',
      name: 'registered_users',
      args: ['localhost'],
      auth: null,
    });
    expect(run(' \n')).to.deep.equal(answer('EMPTY_COMMAND'));
  });

  it('rejects malformed XML with 406', () => {
    expect(run('<message from="a@b"><body>')).to.deep.equal(answer('REJECTED'));
    expect(run('<message from="a@b">&</message>')).to.deep.equal(answer('REJECTED'));
  });

  it('answers 400 to a stanza without a from attribute, or an empty one', () => {
    expect(run("<message to='nolan@localhost'/>")).to.deep.equal({
      kind: 'answer',
      status: 400,
      body: "Error: the stanza has no 'from' attribute.",
    });
    expect(run("<message from='' to='nolan@localhost'/>")).to.deep.equal(answer('NO_FROM'));
  });

  it('rejects a stanza whose element name is not an allowed stanza type', () => {
    const policy = { allowedStanzaTypes: ['message', 'presence'] };
    expect(run(MESSAGE, policy).kind).to.equal('route');
    expect(run("<iq from='a@localhost' type='get' id='1'/>", policy)).to.deep.equal(answer('REJECTED'));
  });

  it('rejects a stanza whose destination is not allowed, or that has no to', () => {
    const policy = { allowedDestinations: ['nolan@localhost'] };
    expect(run("<message from='a@localhost' to='Nolan@LocalHost/Phone'/>", policy).kind).to.equal('route');
    expect(run("<message from='a@localhost' to='zed@localhost'/>", policy)).to.deep.equal(answer('REJECTED'));
    expect(run("<message from='a@localhost'/>", policy)).to.deep.equal(answer('REJECTED'));
  });

  it('admits only the senders allowed_senders lists, answering 403 otherwise', () => {
    const policy = { allowedSenders: ['localhost', 'bot@localhost'] };
    for (const from of ['localhost', 'localhost/rest', 'LocalHost/x', 'bot@localhost', 'bot@localhost/r1']) {
      expect(run(`<message from='${from}' to='nolan@localhost'/>`, policy).kind, from).to.equal('route');
    }
    for (const from of ['admin@localhost', 'admin@localhost/x', 'localhost.', 'bot@localhost.', 'other.localhost', '@localhost']) {
      expect(run(`<iq type='set' id='1' from='${from}' to='localhost'><q xmlns='x'/></iq>`, policy), from).to.deep.equal({
        kind: 'answer',
        status: 403,
        body: "Error: the stanza's 'from' is not in allowed_senders.",
      });
    }
    expect(run("<presence from='admin@localhost'/>", { allowedSenders: null }).kind, 'all').to.equal('route');
    expect(run("<presence from='localhost'/>", { allowedSenders: [] }), 'an empty list admits none').to.deep.equal(answer('SENDER_NOT_ALLOWED'));
  });

  it('leaves elements that are not stanzas, from or not, to the XMPP codec in ejabberd', () => {
    expect(run('<foo/>')).to.deep.equal({ kind: 'route', stanza: { name: 'foo', attrs: [], children: [] } });
  });

  it('does not require a to when allowed_destinations is empty', () => {
    expect(run("<presence from='a@localhost'/>").kind).to.equal('route');
  });

  it('checks the stanza type before from, and from before the destination', () => {
    const reasons: string[] = [];
    const policy = compilePolicy({ allowedIps: [], allowedDestinations: ['nolan@localhost'], allowedStanzaTypes: ['message'], allowedSenders: null });
    const note = (e: unknown) => reasons.push((e as RestError).reason);
    handleRequest(request("<iq to='zed@localhost'/>"), policy, note);
    handleRequest(request("<iq from='a@b' to='zed@localhost'/>"), policy, note);
    handleRequest(request("<message from='a@b' to='zed@localhost'/>"), policy, note);
    expect(reasons).to.deep.equal(['stanza type not allowed', 'stanza type not allowed', 'destination not allowed']);
    reasons.length = 0;
    handleRequest(request("<message to='zed@localhost'/>"), policy, note);
    expect(reasons).to.deep.equal(['NO_FROM']);
  });

  it('never throws, even when the error observer does', () => {
    const action = handleRequest(request('<message/>'), compilePolicy(OPEN), () => {
      throw new Error('observer failed');
    });
    expect(action).to.deep.equal(answer('NO_FROM'));
  });

  it('answers 500 when something unexpected throws inside the pipeline', () => {
    const policy = {
      ...compilePolicy(OPEN),
      ipAllowed: () => {
        throw new TypeError('bug');
      },
    };
    expect(handleRequest(request(MESSAGE), policy)).to.deep.equal({
      kind: 'answer',
      status: 500,
      body: 'Error: internal error in the REST worker.',
    });
  });

  it('reports configuration entries that do not parse', () => {
    const policy = compilePolicy({ allowedIps: ['bogus'], allowedDestinations: ['@x'], allowedStanzaTypes: [], allowedSenders: null });
    expect(policy.invalidEntries).to.deep.equal(['allowed_ips: bogus', 'allowed_destinations: @x']);
    expect(run(MESSAGE, { allowedIps: ['bogus'] })).to.deep.equal(answer('REJECTED'));
  });
});

describe('pipeline: work bounds (max_xml_elements, max_command_args)', () => {
  const policy = (p: Partial<HostPolicy>) => compilePolicy({ ...OPEN, ...p });
  const req = (body: string) => request(body);

  it('answers 413 past max_xml_elements, counting the root, and takes exactly that many', () => {
    const stanza = (n: number) => `<message from='localhost'>${'<a/>'.repeat(n - 1)}</message>`;
    expect(handleRequest(req(stanza(5)), policy({ maxXmlElements: 5 })).kind).to.equal('route');
    expect(handleRequest(req(stanza(6)), policy({ maxXmlElements: 5 }))).to.deep.equal({
      kind: 'answer',
      status: 413,
      body: 'Error: the stanza has more elements than max_xml_elements.',
    });
  });

  it('answers 413 past max_command_args, not counting the name or --auth', () => {
    const args = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`).join(' ');
    expect(handleRequest(req(`cmd ${args(3)}`), policy({ maxCommandArgs: 3 })).kind).to.equal('command');
    expect(handleRequest(req(`--auth u h p cmd ${args(3)}`), policy({ maxCommandArgs: 3 })).kind).to.equal('command');
    for (const body of [`cmd ${args(4)}`, `--auth u h p cmd ${args(4)}`]) {
      expect(handleRequest(req(body), policy({ maxCommandArgs: 3 })), body).to.deep.equal({
        kind: 'answer',
        status: 413,
        body: 'Error: the command line has more arguments than max_command_args.',
      });
    }
  });

  it('stops splitting at the bound: ten million arguments cost no more than a few hundred', () => {
    const huge = `registered_users ${'x '.repeat(10_000_000)}`;
    expect(handleRequest(req(huge), policy({})).kind).to.equal('answer');
  });
});

describe('pipeline: the authenticated API (api requests)', () => {
  const policy = compilePolicy({ ...OPEN, allowedIps: ['127.0.0.1/32'], apiAllowedIps: ['10.0.0.0/8'], allowedSenders: ['localhost'] });

  it('admits peers by api_allowed_ips, apart from allowed_ips: opening one opens nothing else', () => {
    const msg = "<message to='bob@localhost'><body>x</body></message>";
    expect(handleRequest(request(msg, { api: true, ip: '10.1.2.3' }), policy).kind).to.equal('send');
    expect(handleRequest(request(msg, { api: true, ip: '127.0.0.1' }), policy)).to.deep.equal(apiAnswer('IP_NOT_ALLOWED'));
    expect(handleRequest(request(msg, { ip: '10.1.2.3' }), policy)).to.deep.equal(answer('REJECTED'));
  });

  it('leaves from to the stub (it binds it to the account): no from, or any from, is sent on', () => {
    for (const msg of ["<message to='bob@localhost'/>", "<message from='admin@localhost' to='bob@localhost'/>"]) {
      const action = handleRequest(request(msg, { api: true, ip: '10.1.2.3' }), policy);
      expect(action.kind, msg).to.equal('send');
    }
  });

  it('still applies allowed_destinations and allowed_stanza_types', () => {
    const strict = compilePolicy({ ...OPEN, allowedDestinations: ['bob@localhost'], allowedStanzaTypes: ['message'] });
    expect(handleRequest(request("<message to='eve@localhost'/>", { api: true }), strict)).to.deep.equal(apiAnswer('REJECTED'));
    expect(handleRequest(request("<iq to='bob@localhost' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>", { api: true }), strict)).to.deep.equal(apiAnswer('REJECTED'));
  });
});

describe('pipeline: the authenticated API paths', () => {
  const policy = compilePolicy(OPEN);
  const api = (method: string, path: string[], body = '') => handleRequest(request(body, { method, path, api: true }), policy);
  const stanzaOf = (action: Action) => {
    expect(action.kind).to.equal('send');
    return (action as { stanza: XmlElement }).stanza;
  };

  it('turns GET /rest/{query}/{to} into an iq get with its payload and a fresh id', () => {
    const payloads: Record<string, [string, string]> = {
      ping: ['ping', 'urn:xmpp:ping'],
      version: ['query', 'jabber:iq:version'],
      disco: ['query', 'http://jabber.org/protocol/disco#info'],
      items: ['query', 'http://jabber.org/protocol/disco#items'],
      lastactivity: ['query', 'jabber:iq:last'],
    };
    for (const [query, [name, xmlns]] of Object.entries(payloads)) {
      const iq = stanzaOf(api('GET', [query, 'localhost']));
      expect(iq.name).to.equal('iq');
      const attrs = Object.fromEntries(iq.attrs);
      expect([attrs.type, attrs.to]).to.deep.equal(['get', 'localhost']);
      expect(attrs.id).to.match(/^[0-9a-f-]{36}$/);
      expect(iq.children).to.deep.equal([{ name, attrs: [['xmlns', xmlns]], children: [] }]);
    }
    expect(Object.fromEntries(stanzaOf(api('GET', ['ping', 'localhost'])).attrs).id).to.not.equal(
      Object.fromEntries(stanzaOf(api('GET', ['ping', 'localhost'])).attrs).id,
    );
  });

  it('turns POST /rest/message/{type}/{to} into a message whose body is the text', () => {
    const msg = stanzaOf(api('POST', ['message', 'chat', 'bob@localhost'], 'héllo <&>'));
    expect(msg.name).to.equal('message');
    expect(Object.fromEntries(msg.attrs)).to.include({ type: 'chat', to: 'bob@localhost' });
    expect(msg.children).to.deep.equal([{ name: 'body', attrs: [], children: ['héllo <&>'] }]);
  });

  it('answers 404 to any other path or method of the API, and keeps the legacy answer without credentials', () => {
    const notFound = apiAnswer('NO_SUCH_PATH');
    expect(notFound).to.include({ status: 404, body: 'Error: no such path in the REST API.' });
    for (const [method, path] of [['GET', ['bogus', 'x']], ['GET', []], ['PUT', ['ping', 'x']]] as const) {
      expect(api(method, [...path]), `${method} ${path.join('/')}`).to.deep.equal(notFound);
    }
    // A path of the API without credentials: told to authenticate; any other sub-path: the original's answer.
    expect(handleRequest(request('', { method: 'GET', path: ['ping', 'localhost'] }), policy)).to.include({ kind: 'document', status: 401 });
    expect(handleRequest(request('', { method: 'GET', path: ['bogus', 'x'] }), policy)).to.deep.equal(answer('NOT_POST'));
  });

  it('turns GET /rest/archive/{to} and its query string into an XEP-0313 query iq, answered by the stub', () => {
    const action = handleRequest(
      request('', {
        method: 'GET',
        path: ['archive', 'alice@localhost'],
        api: true,
        query: [['with', 'bob@localhost'], ['ids', 'a,b'], ['max', '999'], ['before', ''], ['bogus', 'x']],
      }),
      policy,
    );
    expect(action.kind).to.equal('archive');
    const iq = (action as { stanza: XmlElement }).stanza;
    expect(Object.fromEntries(iq.attrs)).to.include({ type: 'set', to: 'alice@localhost' });
    const query = iq.children[0] as XmlElement;
    expect([query.name, Object.fromEntries(query.attrs).xmlns]).to.deep.equal(['query', 'urn:xmpp:mam:2']);
    const [form, set] = query.children as XmlElement[];
    const fields = (form!.children as XmlElement[]).map((f) => [Object.fromEntries(f.attrs).var, (f.children as XmlElement[]).map((v) => v.children[0])]);
    expect(fields).to.deep.equal([['FORM_TYPE', ['urn:xmpp:mam:2']], ['with', ['bob@localhost']], ['ids', ['a', 'b']]]);
    // max is capped at mod_mam's own page limit; an empty before asks for the last page.
    expect(set!.children).to.deep.equal([
      { name: 'before', attrs: [], children: [] },
      { name: 'max', attrs: [], children: ['250'] },
    ]);
    const full = handleRequest(request('', { method: 'GET', path: ['archive', 'alice@localhost', 'phone'], api: true }), policy);
    expect(Object.fromEntries((full as { stanza: XmlElement }).stanza.attrs).to).to.equal('alice@localhost/phone');
    const bad = handleRequest(request('', { method: 'GET', path: ['archive', 'alice@localhost'], api: true, query: [['max', '-1']] }), policy);
    expect(bad).to.deep.equal(apiAnswer('BAD_ARCHIVE_QUERY'));
  });

  it('applies the policy to the stanza a path stands for', () => {
    const strict = compilePolicy({ ...OPEN, allowedDestinations: ['bob@localhost'] });
    const refused = handleRequest(request('', { method: 'GET', path: ['ping', 'eve@localhost'], api: true }), strict);
    expect(refused).to.deep.equal(apiAnswer('REJECTED'));
  });
});
