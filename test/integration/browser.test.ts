// SPDX-License-Identifier: GPL-2.0-or-later
// Web browsers, with a real headless Chromium (Debian's `chromium`, driven by playwright-core):
// pages on other loopback origins (small static servers of this file) try to make the browser
// act against mod_rest (cross-site request forgery: forms that submit themselves, with the
// Basic credentials the browser holds), and a browser app on a listed origin calls the API
// with a Bearer token through fetch (CORS). Delivery is checked with real XMPP clients,
// commands with registered_users.
//
// Origins: the sandbox is http://127.0.0.1:HTTP. A page of http://localhost:P is cross-site to
// it (Sec-Fetch-Site: cross-site), one of http://127.0.0.1:P same-site (another port).
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Sandbox } from '../../scripts/sandbox.js';
import { freePort, ROOT } from '../../scripts/sandbox.js';
import { CATALOGUE } from '../../src/rest/errors.js';
import { blocks, DOCS_PORT } from './doc-examples.js';
import { escapeXml, expectNotDelivered, post, startSandbox, stopSandbox, suiteFailed, unique, xmppSentinel, XmppUser } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const ALICE_PW = 'Al1ce-browser-pw';
const BOB_PW = 'B0b-browser-pw';
const CAROL_PW = 'Car0l-browser-pw';
const ADMIN_PW = 'adm1n-browser-pw';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const PAGE_TIMEOUT_MS = 15_000;
/** An origin listed for the original protocol only (requests with its headers are sent by this file, not by a page). */
const LEGACY_ORIGIN = 'http://legacy.example:8080';

/** A static web server on a free loopback port: the pages of one origin (two, by the name used). */
class PageServer {
  private readonly pages = new Map<string, string>();
  private server?: http.Server;
  port = 0;
  async start(): Promise<void> {
    this.port = await freePort();
    this.server = http.createServer((req, res) => {
      const page = this.pages.get((req.url ?? '/').split('?')[0]!);
      res.writeHead(page === undefined ? 404 : 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page ?? 'no such page');
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    expect((this.server.address() as AddressInfo).port).to.equal(this.port);
  }
  set(pathName: string, html: string): void {
    this.pages.set(pathName, html);
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A page whose form submits itself as soon as it loads, as a forging page does. */
function autoSubmit(action: string, enctype: string, fields: Array<[string, string]>): string {
  const inputs = fields.map(([name, value]) => `<input type="hidden" name="${escapeXml(name)}" value="${escapeXml(value)}">`).join('');
  return `<!doctype html><title>cute cats</title><form method="POST" action="${action}" enctype="${enctype}">${inputs}</form>` +
    '<script>document.forms[0].submit()</script>';
}

/**
 * The browser app of docs/api.md ("A browser app in 20 lines"), as printed there: it sends a message
 * and an iq with the token it holds and shows the answers. Only the server's URL (make run's, in
 * the docs) and where the token comes from (sessionStorage, in the docs; the page's query here)
 * are replaced, so the app users copy is the one this file runs.
 */
function app(rest: string): string {
  const [block, ...more] = blocks(readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8')).filter((b) => b.words.includes('browser-app'));
  if (!block || more.length > 0) throw new Error('docs/api.md must have exactly one ```html browser-app block');
  const restUrl = `'http://127.0.0.1:${DOCS_PORT}/rest'`;
  const tokenSource = "sessionStorage.getItem('token')";
  for (const part of [restUrl, tokenSource]) {
    if (!block.body.includes(part)) throw new Error(`the browser app of docs/api.md no longer has ${part}`);
  }
  return block.body.replace(restUrl, `'${rest}'`).replace(tokenSource, "new URLSearchParams(location.search).get('token')");
}

/** Waits until the app has shown its last answer (the iq's, or its failure). */
async function appDone(page: Page): Promise<string> {
  await page.waitForFunction(() => /^version /m.test(document.getElementById('out')?.textContent ?? ''), undefined, { timeout: PAGE_TIMEOUT_MS });
  return (await page.textContent('#out')) ?? '';
}
/** What the app sends, in docs/api.md. */
const APP_MESSAGE = 'hello from the desk';

describe('browsers: forged requests refused, CORS for listed origins (headless Chromium)', function () {
  let sb: Sandbox | undefined;
  let bob: XmppUser;
  let carol: XmppUser;
  const listed = new PageServer(); // http://127.0.0.1:PORT: in api_allowed_origins
  const other = new PageServer(); // http://localhost:PORT and http://127.0.0.1:PORT: listed nowhere
  const profiles: string[] = [];
  const contexts: BrowserContext[] = [];

  /** A fresh browser with an empty profile, as a user's own would be before the test. */
  async function browser(): Promise<BrowserContext> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-chromium-'));
    profiles.push(dir);
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
    });
    context.setDefaultTimeout(PAGE_TIMEOUT_MS);
    contexts.push(context);
    return context;
  }

  /**
   * The user signs in once: the browser asks for Basic credentials on the API's 401 and keeps
   * them, then sends them by itself with every request below /rest/ (as for a password prompt).
   */
  async function signIn(context: BrowserContext, user: string, password: string): Promise<void> {
    const page = await context.newPage();
    const rest = new URL(sb!.restUrl);
    const answer = await page.goto(`http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${rest.host}/rest/echo`);
    expect(answer?.status(), 'the sign-in page').to.be.oneOf([200, 405, 404, 400]);
    // Held: a later request of the server's own origin is answered as the account, no prompt.
    const version = await page.evaluate(async (url) => (await fetch(url, { headers: { Accept: 'application/json' } })).status, `${sb!.restUrl}/version/localhost`);
    expect(version, `the browser holds ${user}'s credentials`).to.equal(200);
    await page.close();
  }

  /** Opens a forging page; resolves with the answer its form's submission got, as the user sees it. */
  async function submitFrom(context: BrowserContext, url: string): Promise<{ status: number; text: string }> {
    const page = await context.newPage();
    const submitted = page.waitForResponse((r) => r.url().startsWith(sb!.restUrl) && r.request().method() === 'POST');
    await page.goto(url, { waitUntil: 'commit' });
    const answer = await submitted;
    // The answer replaces the forging page, as the user would see it.
    await page.waitForURL((u) => u.href.startsWith(sb!.restUrl), { waitUntil: 'load' });
    const text = (await page.textContent('body')) ?? '';
    await page.close();
    return { status: answer.status(), text };
  }

  async function registered(): Promise<string> {
    const reply = await post(sb!, 'registered_users localhost', { headers: { Authorization: basic('admin', ADMIN_PW) } });
    expect(reply.status).to.equal(200);
    return reply.body;
  }

  async function issueToken(jid: string): Promise<string> {
    const reply = await post(sb!, `oauth_issue_token ${jid} 3600 mod_rest`, { headers: { Authorization: basic('admin', ADMIN_PW) } });
    const [token] = reply.body.split('\t');
    if (reply.status !== 200 || !token) throw new Error(`oauth_issue_token: ${reply.status} ${reply.body}`);
    return token;
  }

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: make test-browser-deps (apt-get install chromium)`);
    await listed.start();
    await other.start();
    sb = await startSandbox('browser', {
      users: [['alice', ALICE_PW], ['bob', BOB_PW], ['carol', CAROL_PW], ['admin', ADMIN_PW]],
      modRest: { api_allowed_origins: [`http://127.0.0.1:${listed.port}`], allowed_origins: [LEGACY_ORIGIN] },
      config: {
        oauth_access: 'all',
        acl: { admin: { user: ['admin@localhost'] } },
        access_rules: { configure: { allow: 'admin' } },
        modules: { mod_version: {} },
      },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
    carol = await XmppUser.login(sb, 'carol', CAROL_PW, 'desk');
  });
  after(async function () {
    for (const c of contexts) await c.close().catch(() => undefined);
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
    await bob?.stop();
    await carol?.stop();
    await listed.stop();
    await other.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  describe('cross-site request forgery', function () {
    it('refuses a text/plain form that concatenates into a stanza from the server (legacy protocol, no credentials): 403, not delivered', async function () {
      const text = unique('csrf-legacy');
      // text/plain submits `name=value`: the name ends in an attribute, the value closes it.
      const fields: Array<[string, string]> = [[`<message from="localhost" to="bob@localhost" type="chat"><body>${text}</body><x y`, `"z"/></message>`]];
      other.set('/legacy.html', autoSubmit(sb!.restUrl, 'text/plain', fields));
      const context = await browser();
      for (const origin of [`http://localhost:${other.port}`, `http://127.0.0.1:${other.port}`]) {
        const answer = await submitFrom(context, `${origin}/legacy.html`);
        expect([answer.status, answer.text], origin).to.deep.equal([403, CATALOGUE.LEGACY_ORIGIN_NOT_ALLOWED.body]);
      }
      await expectNotDelivered(bob, (s) => s.toString().includes(text), xmppSentinel(carol, bob));
      // The same body from a client that is not a browser is the original protocol, as always.
      const direct = await post(sb!, `<message from="localhost" to="bob@localhost" type="chat"><body>${text}</body><x y="z"/></message>\r\n`);
      expect([direct.status, direct.body]).to.deep.equal([200, 'Ok']);
      await bob.waitForBody(text);
    });

    it("refuses a command a page submits with the admin's Basic credentials the browser holds: 403, the account is not created", async function () {
      const context = await browser();
      await signIn(context, 'admin', ADMIN_PW);
      const user = unique('csrfuser').replace(/[^a-z0-9]/gi, '').toLowerCase();
      // `register USER localhost p=w`: the form's name, `=`, its value.
      other.set('/admin.html', autoSubmit(`${sb!.restUrl}/`, 'text/plain', [[`register ${user} localhost p`, 'w']]));
      const answer = await submitFrom(context, `http://localhost:${other.port}/admin.html`);
      // The API's refusal: the browser did send the admin's credentials (a request without any
      // would be the original protocol's).
      expect(answer.status).to.equal(403);
      expect(answer.text).to.include(CATALOGUE.ORIGIN_NOT_ALLOWED.body);
      expect(await registered()).not.to.include(user);
    });

    it("refuses a message a page submits as alice, whose credentials the browser holds: 403, not delivered", async function () {
      const context = await browser();
      await signIn(context, 'alice', ALICE_PW);
      const text = unique('csrf-alice');
      other.set('/alice.html', autoSubmit(`${sb!.restUrl}/message/chat/bob@localhost`, 'application/x-www-form-urlencoded', [['body', text]]));
      const answer = await submitFrom(context, `http://localhost:${other.port}/alice.html`);
      expect(answer.status).to.equal(403);
      expect(answer.text).to.include(CATALOGUE.ORIGIN_NOT_ALLOWED.body);
      await expectNotDelivered(bob, (s) => s.toString().includes(text), xmppSentinel(carol, bob));
    });
  });

  describe('the original protocol from browsers', function () {
    const stanza = (text: string) => `<message from="localhost" to="bob@localhost" type="chat"><body>${text}</body></message>`;
    const fromPage = (origin: string) => ({ Origin: origin, 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors' });

    it('admits the pages of an origin allowed_origins lists, with CORS headers: delivered', async function () {
      const text = unique('legacy-listed');
      const reply = await post(sb!, stanza(text), { headers: fromPage(LEGACY_ORIGIN) });
      expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
      expect(reply.headers['access-control-allow-origin']).to.equal(LEGACY_ORIGIN);
      await bob.waitForBody(text);
    });

    it('refuses an origin listed for the API only, and Origin: null (sandboxed frames, files): nothing delivered', async function () {
      const text = unique('legacy-unlisted');
      for (const origin of [`http://127.0.0.1:${listed.port}`, 'null']) {
        const reply = await post(sb!, stanza(text), { headers: fromPage(origin) });
        expect([reply.status, reply.body], origin).to.deep.equal([403, CATALOGUE.LEGACY_ORIGIN_NOT_ALLOWED.body]);
      }
      // A browser without Sec-Fetch-Site: its Origin, compared with the request's own.
      const older = await post(sb!, stanza(text), { headers: { Origin: 'http://evil.example' } });
      expect([older.status, older.body]).to.deep.equal([403, CATALOGUE.LEGACY_ORIGIN_NOT_ALLOWED.body]);
      await expectNotDelivered(bob, (s) => s.toString().includes(text), xmppSentinel(carol, bob));
    });

    it("admits a page of the server's own origin (Sec-Fetch-Site: same-origin, or its own Origin)", async function () {
      const own = new URL(sb!.restUrl).origin;
      for (const headers of [{ Origin: own, 'Sec-Fetch-Site': 'same-origin' }, { Origin: own }] as Array<Record<string, string>>) {
        const text = unique('legacy-own');
        const reply = await post(sb!, stanza(text), { headers, host: new URL(sb!.restUrl).host });
        expect([reply.status, reply.body], JSON.stringify(headers)).to.deep.equal([200, 'Ok']);
        await bob.waitForBody(text);
      }
    });
  });

  describe('CORS', function () {
    async function openApp(context: BrowserContext, origin: string, token: string): Promise<{ page: Page; out: string }> {
      const page = await context.newPage();
      await page.goto(`${origin}/app.html?token=${encodeURIComponent(token)}`);
      return { page, out: await appDone(page) };
    }

    it('lets a page of a listed origin send a message and an iq with a Bearer token, and read the answers', async function () {
      listed.set('/app.html', app(sb!.restUrl));
      const token = await issueToken('alice@localhost');
      const context = await browser();
      const { page, out } = await openApp(context, `http://127.0.0.1:${listed.port}`, token);
      const lines = out.split('\n');
      expect(lines[0]).to.equal('message 202 ');
      expect(lines[1]).to.match(/^version 200 \{.*"version"/);
      const message = await bob.waitForBody(APP_MESSAGE);
      expect(message.attrs.from).to.equal('alice@localhost');
      await page.close();
    });

    it("lets a page of a listed origin read the refusals decided before the worker: a refused token's 401, a reused key's 422", async function () {
      listed.set('/app.html', app(sb!.restUrl));
      const context = await browser();
      const { page, out } = await openApp(context, `http://127.0.0.1:${listed.port}`, 'not-a-token');
      const lines = out.split('\n');
      expect(lines[0]).to.match(/^message 401 \{.*"INVALID_CREDENTIALS"/);
      expect(lines[1]).to.match(/^version 401 /);
      // Idempotency-Key: the first send, its replay, then the key with another body.
      const key = unique('desk-key');
      const text = unique('cors-key');
      listed.set('/keys.html', `<!doctype html><pre id="out"></pre><script>
        const token = new URLSearchParams(location.search).get('token');
        const send = async (body) => {
          const answer = await fetch(${JSON.stringify(sb!.restUrl)}, { method: 'POST', body: JSON.stringify({ kind: 'message', type: 'chat', to: 'bob@localhost', body }),
            headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': ${JSON.stringify(key)} } })
            .catch((err) => ({ status: 'failed ' + err.name, headers: new Headers(), text: async () => '' }));
          return answer.status + ' ' + answer.headers.get('Idempotent-Replayed') + ' ' + (await answer.text());
        };
        (async () => {
          const lines = [];
          for (const body of [${JSON.stringify(text)}, ${JSON.stringify(text)}, 'another body']) lines.push(await send(body));
          document.getElementById('out').textContent = lines.join('\\n') + '\\ndone';
        })();
      </script>`);
      const keys = await context.newPage();
      await keys.goto(`http://127.0.0.1:${listed.port}/keys.html?token=${encodeURIComponent(await issueToken('alice@localhost'))}`);
      await keys.waitForFunction(() => /done$/.test(document.getElementById('out')?.textContent ?? ''), undefined, { timeout: PAGE_TIMEOUT_MS });
      const answers = ((await keys.textContent('#out')) ?? '').split('\n');
      expect(answers[0]).to.match(/^202 null /);
      expect(answers[1]).to.match(/^202 true /);
      expect(answers[2]).to.match(/^422 null \{.*"IDEMPOTENCY_KEY_REUSED"/);
      await bob.waitForBody(text);
      await page.close();
      await keys.close();
    });

    it('answers a listed origin\'s preflight, and echoes the origin with Vary: Origin', async function () {
      const origin = `http://127.0.0.1:${listed.port}`;
      const preflight = await post(sb!, null, {
        method: 'OPTIONS',
        path: '/rest/message/chat/bob@localhost',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type', 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'cors' },
      });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers['access-control-allow-origin']).to.equal(origin);
      expect(preflight.headers.vary).to.equal('Origin');
      expect(preflight.headers['access-control-allow-headers']).to.equal('Authorization, Content-Type, Accept, Prosody-Rest-Timeout, Idempotency-Key');
      expect(preflight.headers['access-control-allow-methods']).to.equal('GET, POST');
      expect(preflight.headers['access-control-max-age']).to.equal('600');
      expect(preflight.headers['access-control-allow-credentials']).to.equal(undefined);
    });

    it('refuses Basic credentials from a listed origin (a browser sends those by itself), readable by the page', async function () {
      const origin = `http://127.0.0.1:${listed.port}`;
      const text = unique('cors-basic');
      const reply = await post(sb!, JSON.stringify({ kind: 'message', to: 'bob@localhost', body: text }), {
        headers: { Origin: origin, 'Sec-Fetch-Site': 'same-site', 'Content-Type': 'application/json', Accept: 'text/plain', Authorization: basic('alice', ALICE_PW) },
      });
      expect([reply.status, reply.body]).to.deep.equal([403, CATALOGUE.BROWSER_BASIC.body]);
      expect(reply.headers['access-control-allow-origin']).to.equal(origin);
      await expectNotDelivered(bob, (s) => s.toString().includes(text), xmppSentinel(carol, bob));
    });

    it('answers a page of another site that sends wrong Basic credentials 403, never a 401 that would make the browser ask for a password', async function () {
      const text = unique('basic-prompt');
      const json = JSON.stringify({ kind: 'message', to: 'bob@localhost', body: text });
      const wrong = basic('alice', 'not-her-password');
      const cases: Array<[string, string, string]> = [
        ['cross-site', 'http://evil.example', CATALOGUE.ORIGIN_NOT_ALLOWED.body],
        ['same-site', `http://127.0.0.1:${listed.port}`, CATALOGUE.BROWSER_BASIC.body],
      ];
      for (const [site, origin, refusal] of cases) {
        const reply = await post(sb!, json, {
          headers: { Origin: origin, 'Sec-Fetch-Site': site, 'Content-Type': 'application/json', Accept: 'text/plain', Authorization: wrong },
        });
        expect([reply.status, reply.body], site).to.deep.equal([403, refusal]);
        expect(reply.headers['www-authenticate'], site).to.equal(undefined);
      }
      // The server's own pages, and clients that are no browser, are still challenged.
      for (const headers of [{ 'Sec-Fetch-Site': 'same-origin' }, {}] as Array<Record<string, string>>) {
        const reply = await post(sb!, json, { headers: { ...headers, 'Content-Type': 'application/json', Accept: 'text/plain', Authorization: wrong } });
        expect(reply.status, JSON.stringify(headers)).to.equal(401);
        expect(reply.headers['www-authenticate'], JSON.stringify(headers)).to.match(/^Basic /);
      }
      await expectNotDelivered(bob, (s) => s.toString().includes(text), xmppSentinel(carol, bob));
    });

    it('gets nothing done for the same page on origins not listed, the refusal in the network log', async function () {
      other.set('/app.html', app(sb!.restUrl));
      const token = await issueToken('alice@localhost');
      const context = await browser();
      const earlier = new Set(bob.stanzas); // the listed origin's test delivered the same message
      for (const origin of [`http://localhost:${other.port}`, `http://127.0.0.1:${other.port}`]) {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const corsErrors: string[] = [];
        const statuses: number[] = [];
        cdp.on('Network.loadingFailed', (e: { corsErrorStatus?: { corsError: string } }) => {
          if (e.corsErrorStatus) corsErrors.push(e.corsErrorStatus.corsError);
        });
        cdp.on('Network.responseReceived', (e: { response: { url: string; status: number } }) => {
          if (e.response.url.startsWith(sb!.restUrl)) statuses.push(e.response.status);
        });
        await cdp.send('Network.enable');
        await page.goto(`${origin}/app.html?token=${encodeURIComponent(token)}`);
        const out = await appDone(page);
        expect(out.split('\n').slice(0, 2), origin).to.deep.equal(['message failed TypeError', 'version failed TypeError']);
        expect(corsErrors, `${origin}: the browser's network log`).to.have.length.greaterThan(0);
        await page.close();
      }
      await expectNotDelivered(bob, (s) => !earlier.has(s) && s.toString().includes(APP_MESSAGE), xmppSentinel(carol, bob));
      // What the browser got, asked directly: the refusal, naming the option.
      const preflight = await post(sb!, null, {
        method: 'OPTIONS',
        headers: { Origin: `http://localhost:${other.port}`, 'Access-Control-Request-Method': 'POST', 'Sec-Fetch-Site': 'cross-site' },
      });
      expect([preflight.status, preflight.body]).to.deep.equal([403, CATALOGUE.ORIGIN_NOT_ALLOWED.body]);
      expect(preflight.headers['access-control-allow-origin']).to.equal(undefined);
    });

    it('leaves clients that are not browsers as they were: no Origin, no Sec-Fetch-Site, no CORS headers', async function () {
      const token = await issueToken('alice@localhost');
      const text = unique('plain-client');
      const reply = await post(sb!, JSON.stringify({ kind: 'message', to: 'bob@localhost', body: text }), {
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      });
      expect(reply.status).to.equal(202);
      expect(reply.headers['access-control-allow-origin']).to.equal(undefined);
      await bob.waitForBody(text);
    });
  });
});
