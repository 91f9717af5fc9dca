// SPDX-License-Identifier: GPL-2.0-or-later
// Security issue 16, items 3, 6, 8 and 9: what is refused before the worker (API bodies over
// api_max_stanza_size, command lines over max_command_size, credentials the VM refuses), what
// the worker counts before it parses (JSON and form values), and prototype keys, which are
// bad input like any other: a 4xx, never a 500 with a stack trace. "Never reached the worker"
// is read from /rest/metrics: every request the worker answers counts one action there.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, expectNotDelivered, logEventually, post, restSentinel, sleep, startSandbox, stopSandbox, suiteFailed, unique, XmppUser, type Reply } from './support.js';

const ALICE_PW = 'Al1ce-bounds-pw';
const BOB_PW = 'B0b-bounds-pw';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const JUNK = 'Basic eDp5'; // "x:y"
const JSON_TYPE = 'application/json';
const KIB = 1024;
/** An API error answer in JSON (the request's own format): its status and catalogue id. */
const refusal = (r: Reply): [number, string] => [r.status, (JSON.parse(r.body) as { error: { id: string } }).error.id];

describe('bounds before the worker and prototype keys (issue 16, items 3, 6, 8, 9)', function () {
  this.timeout(60_000);
  let sb: Sandbox | undefined;
  let bob: XmppUser;
  const as = (auth: string, body: string | Buffer, type: string, path = '/rest', method = 'POST'): Promise<Reply> =>
    post(sb!, method === 'GET' ? null : body, { method, path, headers: { Authorization: auth, 'Content-Type': type } });
  const alice = (body: string | Buffer, type = JSON_TYPE, path = '/rest', method = 'POST') => as(basic('alice', ALICE_PW), body, type, path, method);

  /** Metric samples of /rest/metrics whose name and labels start with `prefix`, summed. */
  async function metric(prefix: string): Promise<number> {
    const text = (await post(sb!, null, { method: 'GET', path: '/rest/metrics' })).body;
    return text
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }
  const workerActions = () => metric('mod_rest_actions_total');

  before(async function () {
    sb = await startSandbox('bounds', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
      ],
      // Every junk credential counts a failure from 127.0.0.1: many here.
      modRest: { max_xml_elements: 1000, max_auth_failures: 1000 },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
  });
  after(async function () {
    await bob?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  describe('item 3: a request whose credentials are refused costs no parse', () => {
    it('answers junk credentials with 401 before a large JSON body reaches the worker', async () => {
      // 200 KB of 10,000 small objects: under api_max_stanza_size, over max_xml_elements.
      const body = `{"kind":"message","to":"bob@localhost","x":[${Array.from({ length: 10_000 }, (_, i) => `{"a":${i}}`).join(',')}]}`;
      const before = await workerActions();
      const reply = await as(JUNK, body, JSON_TYPE);
      expect(refusal(reply)).to.deep.equal([401, 'INVALID_CREDENTIALS']);
      expect(reply.headers['www-authenticate']).to.include('Basic realm=');
      expect(await workerActions(), 'requests the worker answered').to.equal(before);
    });

    it('answers a 19 MB JSON body with junk credentials 413 in the VM, and the worker never sees it', async () => {
      const body = Buffer.from(`{"kind":"iq","to":"localhost","items":[${Array.from({ length: 650_000 }, (_, i) => `{"jid":"u${i}@localhost"}`).join(',')}]}`);
      const before = await workerActions();
      const reply = await as(JUNK, body, JSON_TYPE);
      expect(refusal(reply)).to.deep.equal([413, 'STANZA_TOO_LARGE']);
      expect(await workerActions(), 'requests the worker answered').to.equal(before);
    });

    it('refuses with 413 a JSON body of more values than max_xml_elements, counted before parsing, and delivers nothing', async () => {
      const text = unique('many-values');
      const body = `{"kind":"message","to":"bob@localhost","body":"${text}","padding":[${Array(1500).fill('1').join(',')}]}`;
      const reply = await alice(body);
      expect(refusal(reply)).to.deep.equal([413, 'JSON_TOO_LARGE']);
      await expectNotDelivered(bob, (s) => bodyOf(s) === text, restSentinel(sb!, bob));
    });

    it('refuses with 413 form fields more than max_xml_elements, and delivers nothing', async () => {
      const text = unique('many-fields');
      const body = `to=bob%40localhost&body=${text}&${Array.from({ length: 1500 }, (_, i) => `f${i}=1`).join('&')}`;
      const reply = await alice(body, 'application/x-www-form-urlencoded');
      expect([reply.status, reply.body]).to.deep.equal([413, 'Error: the body has more values than max_xml_elements or is nested deeper than max_xml_depth.']);
      await expectNotDelivered(bob, (s) => bodyOf(s) === text, restSentinel(sb!, bob));
    });

    it('still sends a JSON message with a few values, as the account', async () => {
      const text = unique('few-values');
      const reply = await alice(`{"kind":"message","to":"bob@localhost","body":"${text}"}`);
      expect(reply.status).to.equal(202);
      expect((await bob.waitForBody(text)).attrs.from).to.equal('alice@localhost');
    });
  });

  describe('item 6: the API has a stanza size limit, the legacy protocol keeps its own', () => {
    it('refuses with 413 an API message over api_max_stanza_size (256 KiB), and delivers nothing', async () => {
      const text = unique('api-big');
      const stanza = `<message to="bob@localhost"><body>${text} ${'a'.repeat(300 * KIB)}</body></message>`;
      const before = await workerActions();
      const reply = await alice(stanza, 'application/xmpp+xml');
      expect([reply.status, reply.body]).to.deep.equal([413, 'Error: the stanza is larger than api_max_stanza_size.']);
      expect(await workerActions(), 'requests the worker answered').to.equal(before);
      await expectNotDelivered(bob, (s) => (bodyOf(s) ?? '').startsWith(text), restSentinel(sb!, bob));
    });

    it('refuses with 413 a JSON body whose stanza, escaped, outgrows api_max_stanza_size', async () => {
      const text = unique('api-escaped');
      // 80 KB of '&' in JSON: 400 KB of '&amp;' in the stanza.
      const reply = await alice(JSON.stringify({ kind: 'message', to: 'bob@localhost', body: `${text} ${'&'.repeat(80 * KIB)}` }));
      expect(refusal(reply)).to.deep.equal([413, 'STANZA_TOO_LARGE']);
      await expectNotDelivered(bob, (s) => (bodyOf(s) ?? '').startsWith(text), restSentinel(sb!, bob));
    });

    it('sends an API message of 200 KB', async () => {
      const text = unique('api-200k');
      const reply = await alice(`<message to="bob@localhost"><body>${text} ${'a'.repeat(200 * KIB)}</body></message>`, 'application/xmpp+xml');
      expect(reply.status).to.equal(202);
      await bob.waitForBody(`${text} ${'a'.repeat(200 * KIB)}`);
    });

    it('still routes a 300 KB stanza of the legacy protocol (max_body_size applies there)', async () => {
      const text = unique('legacy-300k');
      const reply = await post(sb!, `<message from="localhost/rest" to="bob@localhost"><body>${text} ${'a'.repeat(300 * KIB)}</body></message>`);
      expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
      await bob.waitForBody(`${text} ${'a'.repeat(300 * KIB)}`);
    });
  });

  describe('item 8: over-long command lines are refused before they are copied', () => {
    it('answers 413 to a command line over max_command_size (256 KiB), which never reaches the worker', async () => {
      const before = await workerActions();
      const tooLarge = await metric('mod_rest_refused_total{reason="too_large"}');
      const reply = await post(sb!, `registered_users ${'x '.repeat(200 * KIB)}`);
      expect([reply.status, reply.body]).to.deep.equal([413, 'Error: the command line is longer than max_command_size.']);
      expect(await workerActions(), 'requests the worker answered').to.equal(before);
      expect(await metric('mod_rest_refused_total{reason="too_large"}')).to.equal(tooLarge + 1);
    });

    it('refuses no small stanza busy while other connections send 19 MB stanzas (big frames keep to their share of the queue)', async () => {
      const big = Buffer.from(`<message from="localhost/big" to="nobody@localhost"><body>${'x'.repeat(19 * KIB * KIB)}</body></message>`);
      let done = 0;
      const bigs = Array.from({ length: 3 }, () => post(sb!, big).then((r) => (done++, r.status)));
      const small: number[] = [];
      while (done < 3) {
        small.push((await post(sb!, `<message from="localhost/small" to="nobody@localhost"><body>${unique('small')}</body></message>`)).status);
        await sleep(50);
      }
      // A big one may be told to come back (503 with Retry-After); a small one never.
      for (const status of await Promise.all(bigs)) expect([200, 503]).to.include(status);
      expect(small.filter((s) => s !== 200), `answers to ${small.length} small stanzas`).to.deep.equal([]);
    });

    it('still answers a short command line (401 without --auth)', async () => {
      const reply = await post(sb!, 'registered_users localhost');
      expect(reply.status).to.equal(401);
    });
  });

  describe('item 9: prototype keys are bad input like any other', () => {
    const cases: Array<{ name: string; body: string; type: string; path?: string; method?: string; status: number }> = [
      { name: 'JSON {"constructor":1}', body: '{"constructor":1}', type: JSON_TYPE, status: 422 },
      { name: 'JSON {"type":"toString"}', body: '{"type":"toString"}', type: JSON_TYPE, status: 422 },
      { name: 'JSON {"kind":"constructor"}', body: '{"kind":"constructor"}', type: JSON_TYPE, status: 422 },
      { name: 'JSON {"__proto__":{"kind":"iq"}}', body: '{"__proto__":{"kind":"iq"}}', type: JSON_TYPE, status: 422 },
      { name: 'form hasOwnProperty=x', body: 'hasOwnProperty=x', type: 'application/x-www-form-urlencoded', status: 422 },
      { name: 'form __proto__=x', body: '__proto__=x', type: 'application/x-www-form-urlencoded', status: 422 },
      { name: 'GET /rest/constructor/x', body: '', type: JSON_TYPE, path: '/rest/constructor/x', method: 'GET', status: 404 },
      { name: 'GET /rest/__proto__/x', body: '', type: JSON_TYPE, path: '/rest/__proto__/x', method: 'GET', status: 404 },
      { name: 'POST /rest/iq/toString/x', body: '{}', type: JSON_TYPE, path: '/rest/iq/toString/x', status: 404 },
      { name: 'Content-Type: constructor', body: 'x', type: 'constructor', status: 415 },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.status} with valid credentials, 401 with junk ones`, async () => {
        const good = await alice(c.body, c.type, c.path, c.method);
        expect(good.status, good.body).to.equal(c.status);
        const junk = await as(JUNK, c.body, c.type, c.path, c.method);
        expect(junk.status, junk.body).to.equal(401);
      });
    }

    it('logs no error and no stack trace for them', async () => {
      // The log file is written with a delay: a failed --auth logs its user at info, after them.
      const marker = unique('marker');
      await post(sb!, `--auth ${marker} localhost wrong registered_users localhost`);
      expect(await logEventually(sb!, marker), 'the marker line').to.equal(true);
      const log = sb!.log();
      expect(log).not.to.match(/request failed in the worker/);
      expect(log).not.to.match(/TypeError|at [A-Za-z.]+ \(.*\.js:\d+:\d+\)/);
    });
  });
});
