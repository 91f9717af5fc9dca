// SPDX-License-Identifier: GPL-2.0-or-later
// Bots as HTTP services (option `webhooks`): a real XMPP client sends stanzas to subdomains and
// accounts that mod_rest routes to small HTTP services started here, on loopback; their answers
// come back as stanzas. Failures: a service down, slow, answering 500 or garbage, a full queue.
import { xml } from '@xmpp/client';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePort, type Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, post, sleep, startSandbox, stopSandbox, suiteFailed, unique, XmppUser, type Element } from './support.js';

const SECRET = 'webhook-test-secret';
const SIGNATURE = 'x-mod-rest-signature';

interface Received {
  path: string;
  contentType: string | undefined;
  body: string;
  signatureValid: boolean;
}

/** The test's bot service: what it does depends on the path. */
class BotService {
  readonly received: Received[] = [];
  /** Requests to /hold wait here until released. */
  private held: Array<() => void> = [];
  /** How many more /flaky requests answer 503 before one is accepted. */
  flakyFailures = 0;

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const got: Received = { path: url.pathname + url.search, contentType: req.headers['content-type'], body: raw.toString('utf8'), signatureValid: validSignature(raw, req.headers[SIGNATURE]) };
      this.received.push(got);
      void this.answer(url.pathname, got, res);
    });
  }

  release(): void {
    const held = this.held;
    this.held = [];
    held.forEach((go) => go());
  }

  get holding(): number {
    return this.held.length;
  }

  private async answer(route: string, got: Received, res: http.ServerResponse): Promise<void> {
    const xmlReply = (body: string): void => {
      res.writeHead(200, { 'Content-Type': 'application/xmpp+xml' }).end(body);
    };
    switch (route.split('/')[1]) {
      case 'xml': {
        // The service checks the signature, as a real one would: mod_rest signs with the shared secret.
        if (!got.signatureValid) return void res.writeHead(401).end('bad signature');
        if (got.body.startsWith('<iq')) {
          return xmlReply('<iq type="result"><query xmlns="jabber:iq:version"><name>echo-bot</name><version>1.0</version></query></iq>');
        }
        const text = /<body>([^<]*)<\/body>/.exec(got.body)?.[1];
        if (text === undefined) return void res.writeHead(204).end();
        return xmlReply(`<message type="chat"><body>echo: ${text}</body></message>`);
      }
      case 'json': {
        const stanza = JSON.parse(got.body) as { kind: string; body?: string };
        if (stanza.kind !== 'message' || stanza.body === undefined) return void res.writeHead(202).end();
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'message', type: 'chat', body: `json: ${stanza.body}` }));
        return;
      }
      case 'attrs': {
        // A reply with every kind of top-level attribute, and a child ejabberd does not know.
        const text = /<body>([^<]*)<\/body>/.exec(got.body)?.[1] ?? '';
        return xmlReply(
          `<message type="chat" xml:lang="fr" id="svc-1" custom="x" from="evil@example.net" to="nobody@example.net">` +
            `<body>attrs: ${text}</body><extra xmlns="urn:example:extra" a="1">kept</extra></message>`,
        );
      }
      case 'slow':
        await sleep(3000);
        return xmlReply('<message><body>too late</body></message>');
      case 'fail':
        return void res.writeHead(500, { 'Content-Type': 'text/plain' }).end('it broke');
      case 'garbage':
        return xmlReply('<<< this is not XML');
      case 'hold':
        await new Promise<void>((go) => this.held.push(go));
        return void res.writeHead(204).end();
      case 'flaky':
        if (this.flakyFailures > 0) {
          this.flakyFailures--;
          return void res.writeHead(503).end();
        }
        return void res.writeHead(204).end();
      default:
        return void res.writeHead(404).end();
    }
  }
}

function validSignature(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function listen(server: http.Server | https.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

/** A self-signed certificate for 127.0.0.1, made now. */
function selfSigned(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 30_000 });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

function errorCondition(s: Element): string | undefined {
  const error = s.getChild('error');
  return error?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas' && c.name !== 'text')?.name;
}

describe('webhooks: stanzas to a subdomain or an account are POSTed to an HTTP service (a real ejabberd, a real XMPP client)', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  let servers: Array<http.Server | https.Server> = [];
  const bot = new BotService();
  let tmp = '';

  before(async function () {
    this.timeout(90_000);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-webhook-tls-'));
    const tls = selfSigned(tmp);
    const port = await freePort();
    const tlsPort = await freePort();
    const closedPort = await freePort(); // nothing listens there: a service that is down
    const plain = http.createServer((q, r) => bot.handle(q, r));
    const secure = https.createServer({ key: tls.key, cert: tls.cert }, (q, r) => bot.handle(q, r));
    await listen(plain, port);
    await listen(secure, tlsPort);
    servers = [plain, secure];
    const base = `http://127.0.0.1:${port}`;
    sb = await startSandbox('webhooks', {
      users: [
        ['alice', 'alice-pw'],
        ['support', 'support-pw'],
        ['pager', 'pager-pw'],
      ],
      distribution: true,
      modRest: {
        webhooks: [
          { url: `${base}/xml/{kind}?to={to}`, domain: 'bot.localhost', secret: SECRET },
          { url: `${base}/json`, domain: 'jbot.localhost', format: 'json' },
          { url: `${base}/attrs`, domain: 'attrs.localhost' },
          { url: `${base}/slow`, domain: 'slow.localhost', timeout: 1 },
          { url: `${base}/fail`, domain: 'fail.localhost' },
          { url: `${base}/garbage`, domain: 'garbage.localhost' },
          { url: `http://127.0.0.1:${closedPort}/`, domain: 'down.localhost', retries: 2, retry_delay: 100 },
          { url: `${base}/flaky`, domain: 'flaky.localhost', retries: 3, retry_delay: 100 },
          { url: `${base}/hold`, domain: 'hold.localhost', concurrency: 1, queue_size: 1 },
          { url: `${base}/hold`, domain: 'restart.localhost' },
          { url: `${base}/xml`, domain: 'wrong.localhost', secret: 'not-the-shared-secret' },
          { url: `https://127.0.0.1:${tlsPort}/xml`, domain: 'tls.localhost', secret: SECRET, ca_file: tls.certFile },
          { url: `${base}/xml`, accounts: ['support@localhost'], when: 'offline', secret: SECRET, stanzas: ['message'] },
          { url: `${base}/json`, accounts: ['pager@localhost'], when: 'always', format: 'json', stanzas: ['message'] },
        ],
      },
    });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });

  after(async function () {
    bot.release();
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
    servers.forEach((s) => s.close());
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const sendMessage = async (to: string, text: string): Promise<string> => {
    const id = randomUUID();
    await alice.send(xml('message', { to, id, type: 'chat' }, xml('body', {}, text)));
    return id;
  };
  const errorFor = (id: string, timeoutMs?: number): Promise<Element> =>
    alice.waitFor((s) => s.attrs.id === id && s.attrs.type === 'error', timeoutMs);
  // The URL as a string: erl_call prints binaries as #Bin<...>.
  const counters = async (): Promise<string> =>
    sb!.rpc('[M#{url => binary_to_list(maps:get(url, M)), serves => binary_to_list(maps:get(serves, M))} || M <- mod_rest_webhook:counters(<<"localhost">>)].');

  it('POSTs a message as application/xmpp+xml, signed, to the URL with {kind} and {to} filled in, and routes the XML reply back', async function () {
    const text = unique('hello');
    await sendMessage('echo@bot.localhost', text);
    const reply = await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
    expect(reply.attrs.from).to.equal('echo@bot.localhost');
    expect(reply.attrs.to).to.equal(alice.jid);
    expect(reply.attrs.type).to.equal('chat');
    const got = bot.received.find((r) => r.body.includes(text))!;
    expect(got.path).to.equal('/xml/message?to=echo%40bot.localhost');
    expect(got.contentType).to.equal('application/xmpp+xml');
    expect(got.signatureValid, 'the service verified the HMAC-SHA256 signature').to.equal(true);
    expect(got.body).to.match(/^<message /).and.match(new RegExp(`from=["']${alice.jid}["']`));
  });

  it('POSTs the stanza as JSON (Prosody mapping) with format: json and routes a JSON reply back', async function () {
    const text = unique('json');
    await sendMessage('anyone@jbot.localhost/res', text);
    const reply = await alice.waitFor((s) => bodyOf(s) === `json: ${text}`);
    expect(reply.attrs.from).to.equal('anyone@jbot.localhost/res');
    const got = bot.received.find((r) => r.body.includes(text))!;
    expect(got.contentType).to.equal('application/json');
    expect(JSON.parse(got.body)).to.include({ kind: 'message', type: 'chat', to: 'anyone@jbot.localhost/res', from: alice.jid, body: text });
    expect(got.signatureValid, 'no secret configured: unsigned').to.equal(false);
  });

  it("keeps a reply's type, xml:lang, id and children, forces from and to, and drops attributes XMPP does not define", async function () {
    const text = unique('attrs');
    await sendMessage('anyone@attrs.localhost', text);
    const reply = await alice.waitFor((s) => bodyOf(s) === `attrs: ${text}`);
    expect(reply.attrs).to.include({ from: 'anyone@attrs.localhost', to: alice.jid, type: 'chat', 'xml:lang': 'fr', id: 'svc-1' });
    const extra = reply.getChild('extra', 'urn:example:extra');
    expect(extra?.attrs.a, 'an unknown child, whole').to.equal('1');
    expect(extra?.children).to.deep.equal(['kept']);
    // ejabberd routes stanzas as records with no room for other attributes: it drops them from a
    // client's own stanzas the same way (RFC 6120 §8.1 defines no others).
    expect(reply.attrs.custom).to.equal(undefined);
  });

  it('answers an iq get with the service reply (type result, the original id), exactly once', async function () {
    const id = randomUUID();
    await alice.send(xml('iq', { to: 'bot.localhost', id, type: 'get' }, xml('query', { xmlns: 'jabber:iq:version' })));
    const result = await alice.waitFor((s) => s.is('iq') && s.attrs.id === id);
    expect(result.attrs.type).to.equal('result');
    expect(result.attrs.from).to.equal('bot.localhost');
    expect(result.getChild('query')?.getChildText('name')).to.equal('echo-bot');
    await sleep(500);
    expect(alice.received((s) => s.attrs.id === id)).to.have.length(1);
  });

  it('answers an iq with internal-server-error when the service answers 500, and a message too', async function () {
    const id = randomUUID();
    await alice.send(xml('iq', { to: 'fail.localhost', id, type: 'get' }, xml('query', { xmlns: 'jabber:iq:version' })));
    const error = await errorFor(id);
    expect(error.is('iq')).to.equal(true);
    expect(errorCondition(error)).to.equal('internal-server-error');
    const mid = await sendMessage('x@fail.localhost', unique('fail'));
    expect(errorCondition(await errorFor(mid))).to.equal('internal-server-error');
  });

  it('answers remote-server-timeout when the service is slower than the deadline (timeout: 1 s)', async function () {
    const started = Date.now();
    const id = await sendMessage('x@slow.localhost', unique('slow'));
    const error = await errorFor(id, 5000);
    expect(errorCondition(error)).to.equal('remote-server-timeout');
    expect(Date.now() - started).to.be.within(900, 2900);
  });

  it('answers internal-server-error when the service answers garbage', async function () {
    const id = await sendMessage('x@garbage.localhost', unique('garbage'));
    expect(errorCondition(await errorFor(id))).to.equal('internal-server-error');
  });

  it('retries a message while the service is down (retries: 2, from 100 ms), then answers recipient-unavailable', async function () {
    const started = Date.now();
    const id = await sendMessage('x@down.localhost', unique('down'));
    const error = await errorFor(id);
    expect(errorCondition(error)).to.equal('recipient-unavailable');
    // 100 ms, then 200 ms between the three attempts.
    expect(Date.now() - started).to.be.at.least(300);
  });

  it('delivers a message once the service is back (two 503 answers, then 204), with no error to the sender', async function () {
    bot.flakyFailures = 2;
    const text = unique('flaky');
    const id = await sendMessage('x@flaky.localhost', text);
    for (let i = 0; i < 50 && bot.received.filter((r) => r.body.includes(text)).length < 3; i++) await sleep(100);
    expect(bot.received.filter((r) => r.body.includes(text))).to.have.length(3);
    await sleep(300);
    expect(alice.received((s) => s.attrs.id === id)).to.have.length(0);
  });

  it('answers resource-constraint when the queue is full (concurrency 1, queue_size 1), and delivers the rest', async function () {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await sendMessage('x@hold.localhost', unique(`hold-${i}`)));
    // The first is with the service, the second queued; the third and fourth are refused.
    for (const id of ids.slice(2)) expect(errorCondition(await errorFor(id))).to.equal('resource-constraint');
    bot.release();
    for (let i = 0; i < 50 && bot.holding === 0; i++) await sleep(50);
    bot.release();
    await sleep(300);
    expect(alice.received((s) => ids.slice(0, 2).includes(String(s.attrs.id)))).to.have.length(0);
  });

  it('lets the service refuse a wrong signature: a 401 answer is a not-authorized error to the sender', async function () {
    const id = await sendMessage('x@wrong.localhost', unique('wrong'));
    expect(errorCondition(await errorFor(id))).to.equal('not-authorized');
  });

  it('calls an https service whose certificate it trusts through ca_file', async function () {
    const text = unique('tls');
    await sendMessage('echo@tls.localhost', text);
    await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
  });

  it("POSTs a message to an account with no client online (when: offline) and routes the reply in the account's name", async function () {
    const text = unique('support');
    await sendMessage('support@localhost', text);
    const reply = await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
    expect(reply.attrs.from).to.equal('support@localhost');
  });

  it('leaves messages to that account to its client while one is online (when: offline)', async function () {
    const support = await XmppUser.login(sb!, 'support', 'support-pw', 'phone');
    try {
      const text = unique('online');
      await sendMessage('support@localhost', text);
      await support.waitForBody(text);
      await sleep(300);
      expect(bot.received.some((r) => r.body.includes(text))).to.equal(false);
    } finally {
      await support.stop();
    }
  });

  it('takes every message to an account with when: always, even with its client online', async function () {
    const pager = await XmppUser.login(sb!, 'pager', 'pager-pw', 'phone');
    try {
      const text = unique('always');
      await sendMessage('pager@localhost', text);
      await alice.waitFor((s) => bodyOf(s) === `json: ${text}`);
      await sleep(300);
      expect(pager.received((s) => (bodyOf(s) ?? '').includes(text))).to.have.length(0);
    } finally {
      await pager.stop();
    }
  });

  it('counts per webhook what was sent, failed, retried and dropped', async function () {
    const text = await counters();
    const entry = (domain: string): string => text.split('#{').find((e) => e.includes(`"${domain}"`)) ?? '';
    expect(entry('hold.localhost')).to.match(/dropped => 2/);
    expect(entry('flaky.localhost')).to.match(/retried => 2/).and.match(/sent => 1/);
    expect(entry('fail.localhost')).to.match(/failed => 2/);
    expect(text).to.not.include(SECRET);
    // The node-wide totals of every webhook, in /rest/metrics (loopback may read it by default).
    const metrics = await post(sb!, null, { method: 'GET', path: '/rest/metrics' });
    expect(metrics.status).to.equal(200);
    const total = (event: string): number => Number(metrics.body.match(new RegExp(`^mod_rest_webhook_events_total\\{event="${event}"\\} (\\d+)$`, 'm'))?.[1] ?? NaN);
    expect(total('dropped')).to.be.at.least(2);
    expect(total('retried')).to.be.at.least(2);
    expect(total('failed')).to.be.at.least(2);
    expect(total('sent')).to.be.at.least(1);
  });

  it('retries a message whose call was in flight when the worker died, once a new worker runs', async function () {
    bot.release(); // what earlier tests left with the service
    const text = unique('restart');
    const id = await sendMessage('x@restart.localhost', text);
    for (let i = 0; i < 100 && !bot.received.some((r) => r.body.includes(text)); i++) await sleep(50);
    expect(bot.holding, 'the call is in flight, held by the service').to.equal(1);
    const [pid] = sb!.workerPids();
    process.kill(pid!, 'SIGKILL');
    // The retry reaches the service again (the first connection died with the worker).
    for (let i = 0; i < 100 && bot.received.filter((r) => r.body.includes(text)).length < 2; i++) await sleep(100);
    expect(bot.received.filter((r) => r.body.includes(text)).length).to.equal(2);
    bot.release();
    await sleep(300);
    expect(alice.received((s) => s.attrs.id === id)).to.have.length(0);
  });
});
