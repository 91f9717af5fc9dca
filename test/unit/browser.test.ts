// SPDX-License-Identifier: GPL-2.0-or-later
// The browser stage (src/rest/browser.ts): which requests a browser sent for another origin, and
// what becomes of them. test/integration/browser.test.ts has the same with a real Chromium.
import { expect } from 'chai';
import { browserDecision, compileOrigins, corsOfStubAnswer, isCrossOrigin, normalizeOrigin, type BrowserPolicy } from '../../src/rest/browser.js';
import { renderJob } from '../../src/rest/render.js';
import { compilePolicy, handleRequest } from '../../src/rest/pipeline.js';
import type { HostPolicy, RestRequest } from '../../src/rest/types.js';

const OWN = 'http://xmpp.example.com:5280';
const APP = 'https://desk.example.com';

function request(over: Partial<RestRequest> = {}): RestRequest {
  return { method: 'POST', path: [], body: Buffer.from('<message/>'), ip: '127.0.0.1', host: 'localhost', ownOrigin: OWN, ...over };
}
const none = (): void => undefined;
const POLICY: BrowserPolicy = { apiOrigins: compileOrigins([APP], none), legacyOrigins: compileOrigins([], none) };
const kind = (over: Partial<RestRequest>, api = true, policy = POLICY) => browserDecision(request(over), api, false, policy).kind;

describe('browsers (browser.ts)', () => {
  it('serialises origins as browsers do: lower case, no default port, nothing else', () => {
    expect(normalizeOrigin('HTTPS://Desk.Example.com:443')).to.equal('https://desk.example.com');
    expect(normalizeOrigin('http://127.0.0.1:80')).to.equal('http://127.0.0.1');
    expect(normalizeOrigin('http://127.0.0.1:8080')).to.equal('http://127.0.0.1:8080');
    for (const bad of ['null', 'https://desk.example.com/', 'https://a/b', 'ftp://x', 'https://u:p@x', '']) expect(normalizeOrigin(bad), bad).to.equal(undefined);
    const invalid: string[] = [];
    expect([...compileOrigins(['https://a.example', 'null', 'x'], (e) => invalid.push(e))!]).to.deep.equal(['https://a.example']);
    expect(invalid).to.deep.equal(['null', 'x']);
  });

  it('believes Sec-Fetch-Site where a browser sends it, and compares Origin with the request\'s own where not', () => {
    expect(isCrossOrigin(request())).to.equal(false); // curl, PHP, Python: neither header
    expect(isCrossOrigin(request({ fetchSite: 'cross-site' }))).to.equal(true); // a navigation: no Origin
    expect(isCrossOrigin(request({ fetchSite: 'same-site', origin: 'http://chat.example.com' }))).to.equal(true);
    expect(isCrossOrigin(request({ fetchSite: 'none' }))).to.equal(false); // typed in the address bar
    // Behind a TLS-terminating proxy the listener is http, the page https: the browser knows.
    expect(isCrossOrigin(request({ fetchSite: 'same-origin', origin: 'https://xmpp.example.com' }))).to.equal(false);
    // Older browsers: Origin alone.
    expect(isCrossOrigin(request({ origin: 'HTTP://XMPP.example.com:5280' }))).to.equal(false);
    expect(isCrossOrigin(request({ origin: 'http://evil.example' }))).to.equal(true);
    expect(isCrossOrigin(request({ origin: 'null' }))).to.equal(true);
    expect(isCrossOrigin(request({ origin: 'http://evil.example', ownOrigin: undefined }))).to.equal(true);
  });

  it('refuses what pages of other origins make a browser send, unless listed for that protocol', () => {
    expect(kind({ fetchSite: 'cross-site', origin: 'https://evil.example' })).to.equal('refuse');
    expect(kind({ fetchSite: 'cross-site' })).to.equal('refuse');
    expect(kind({ fetchSite: 'cross-site', origin: APP, authScheme: 'bearer' })).to.equal('cors');
    expect(kind({ fetchSite: 'cross-site', origin: APP, authScheme: 'basic' })).to.equal('refuse');
    // The legacy protocol has a list of its own: api_allowed_origins does not open it.
    expect(kind({ fetchSite: 'cross-site', origin: APP }, false)).to.equal('refuse');
    const legacy: BrowserPolicy = { apiOrigins: compileOrigins([], none), legacyOrigins: compileOrigins([APP], none) };
    expect(kind({ fetchSite: 'cross-site', origin: APP }, false, legacy)).to.equal('cors');
    expect(kind({ fetchSite: 'cross-site', origin: APP, authScheme: 'bearer' }, true, legacy)).to.equal('refuse');
  });

  it('never admits Origin: null (sandboxed frames, file pages), not even with all', () => {
    const all: BrowserPolicy = { apiOrigins: null, legacyOrigins: null };
    expect(kind({ fetchSite: 'cross-site', origin: 'null', authScheme: 'bearer' }, true, all)).to.equal('refuse');
    expect(kind({ fetchSite: 'cross-site', origin: 'null' }, false, all)).to.equal('refuse');
    expect(kind({ fetchSite: 'cross-site', origin: 'https://any.example', authScheme: 'bearer' }, true, all)).to.equal('cors');
  });

  it('answers the preflight of a listed origin, at /rest also for allowed_origins', () => {
    const preflight = browserDecision(request({ method: 'OPTIONS', path: ['message', 'chat', 'a@b'], fetchSite: 'cross-site', origin: APP }), true, false, POLICY);
    expect(preflight).to.deep.equal({
      kind: 'preflight',
      headers: [
        ['Access-Control-Allow-Origin', APP],
        ['Vary', 'Origin'],
        ['Access-Control-Allow-Methods', 'GET, POST'],
        ['Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept, Prosody-Rest-Timeout, Idempotency-Key'],
        ['Access-Control-Max-Age', '600'],
      ],
    });
    const legacy: BrowserPolicy = { apiOrigins: compileOrigins([], none), legacyOrigins: compileOrigins([APP], none) };
    expect(kind({ method: 'OPTIONS', fetchSite: 'cross-site', origin: APP }, false, legacy)).to.equal('preflight');
    expect(kind({ method: 'OPTIONS', path: ['echo'], fetchSite: 'cross-site', origin: APP }, true, legacy)).to.equal('refuse');
  });

  it('lets anyone read the public OpenAPI description', () => {
    expect(browserDecision(request({ method: 'GET', path: ['openapi.json'], fetchSite: 'cross-site', origin: 'https://x.example' }), true, true, POLICY).kind).to.equal('plain');
  });

  it('in the pipeline: a refusal names the option, a listed origin\'s answer (and refusal) carries its CORS headers', () => {
    const policy = compilePolicy({ allowedIps: [], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: null, apiAllowedOrigins: [APP] } satisfies HostPolicy);
    const forged = handleRequest(request({ fetchSite: 'cross-site', origin: 'https://evil.example', body: Buffer.from("<message from='localhost' to='a@localhost'/>") }), policy);
    expect(forged).to.deep.equal({ kind: 'answer', status: 403, body: 'Error: a web page of another origin may not use this protocol; its origin is not in allowed_origins.' });
    const sent = handleRequest(request({ fetchSite: 'cross-site', origin: APP, api: true, authScheme: 'bearer', contentType: 'application/xmpp+xml', body: Buffer.from("<message to='a@localhost'/>") }), policy);
    expect(sent.kind).to.equal('with_headers');
    expect(sent.kind === 'with_headers' && sent.action.kind).to.equal('send');
    const basic = handleRequest(request({ fetchSite: 'cross-site', origin: APP, api: true, authScheme: 'basic', contentType: 'application/xmpp+xml' }), policy);
    expect(basic.kind === 'with_headers' && basic.action.kind === 'document' && basic.action.status).to.equal(403);
  });

  it("gives the answers the stub decides (a refused token's 401, a key's 409) a listed origin's CORS headers, and nobody else's", () => {
    const page = { fetchSite: 'cross-site', origin: APP, ownOrigin: OWN };
    const cors = [
      ['Access-Control-Allow-Origin', APP],
      ['Vary', 'Origin'],
      ['Access-Control-Expose-Headers', 'Retry-After, WWW-Authenticate, X-Stanza-Id, Idempotent-Replayed'],
    ];
    expect(corsOfStubAnswer({ ...page, authScheme: 'bearer' }, POLICY)).to.deep.equal(cors);
    expect(corsOfStubAnswer({ ...page, origin: 'https://evil.example', authScheme: 'bearer' }, POLICY)).to.deep.equal([]);
    // A page's Basic credentials are the browser's own: what they get stays unreadable.
    expect(corsOfStubAnswer({ ...page, authScheme: 'basic' }, POLICY)).to.deep.equal([]);
    expect(corsOfStubAnswer({ ownOrigin: OWN, authScheme: 'bearer' }, POLICY)).to.deep.equal([]); // curl
    expect(corsOfStubAnswer({ ...page, authScheme: 'bearer' }, undefined)).to.deep.equal([]); // a vhost not configured yet
    const conflict = renderJob({ host: 'localhost', what: 'error', code: 'IDEMPOTENCY_KEY_IN_FLIGHT', browser: { ...page, authScheme: 'bearer' } }, POLICY);
    expect(conflict.status).to.equal(409);
    expect(conflict.headers).to.deep.include.members(cors);
    expect(renderJob({ host: 'localhost', what: 'error', code: 'IDEMPOTENCY_KEY_IN_FLIGHT' }, POLICY).headers).to.not.deep.include(cors[0]);
  });
});
