// SPDX-License-Identifier: GPL-2.0-or-later
// What each webhook call carries and how calls end (security issue 16, items 13 and 14;
// idempotency issue 19): a delivery id that stays the same across the retries of one call, the
// attempt's timestamp, both signed with the body as Standard Webhooks do (the old body-only
// header kept); and two account webhooks that answer each other stop after a bounded chain.
import { xml } from '@xmpp/client';
import { expect } from 'chai';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { freePort, type Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, sleep, startSandbox, stopSandbox, suiteFailed, unique, XmppUser } from './support.js';

const SECRET = 'delivery-test-secret';
const TOLERANCE_S = 300;

interface Call {
  route: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The check a receiver makes (Standard Webhooks): the signature of id.timestamp.body, a recent timestamp. */
function verified(call: Call): boolean {
  const id = call.headers['webhook-id'];
  const timestamp = call.headers['webhook-timestamp'];
  const signatures = call.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S) return false;
  const expected = Buffer.from(`v1,${createHmac('sha256', SECRET).update(`${id}.${timestamp}.`).update(call.body).digest('base64')}`);
  return signatures.split(' ').some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}

function oldSignatureValid(call: Call): boolean {
  return call.headers['x-mod-rest-signature'] === `sha256=${createHmac('sha256', SECRET).update(call.body).digest('hex')}`;
}

describe('webhook deliveries: signed id and timestamp, the same id across retries, no endless bot loops', function () {
  this.timeout(60_000);
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  let loopStarter: XmppUser;
  let server: http.Server;
  const calls: Call[] = [];
  let flakyFailures = 0;

  before(async function () {
    this.timeout(60_000);
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const call: Call = { route: (req.url ?? '/').split('/')[1]!, headers: req.headers, body: Buffer.concat(chunks) };
        calls.push(call);
        if (!verified(call)) return void res.writeHead(401).end();
        if (call.route === 'flaky' && flakyFailures > 0) {
          flakyFailures--;
          return void res.writeHead(503).end();
        }
        const stanza = JSON.parse(call.body.toString('utf8')) as { kind: string; type?: string; body?: string };
        // An echo bot: it answers every message that is not an error, as naive bots do.
        if (stanza.kind !== 'message' || stanza.type === 'error' || stanza.body === undefined) return void res.writeHead(204).end();
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'message', type: 'chat', body: `${call.route}: ${stanza.body}` }));
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${port}`;
    sb = await startSandbox('webhook-delivery', {
      users: [
        ['alice', 'alice-pw'],
        ['bota', 'bota-pw'],
        ['botb', 'botb-pw'],
      ],
      modRest: {
        webhooks: [
          { url: `${base}/echo`, domain: 'echo.localhost', format: 'json', secret: SECRET },
          { url: `${base}/flaky`, domain: 'flaky.localhost', format: 'json', secret: SECRET, retries: 3, retry_delay: 100 },
          // Two accounts whose bots answer every message they get, each other's replies included.
          { url: `${base}/a`, accounts: ['bota@localhost'], when: 'always', format: 'json', secret: SECRET, stanzas: ['message'] },
          { url: `${base}/b`, accounts: ['botb@localhost'], when: 'always', format: 'json', secret: SECRET, stanzas: ['message'] },
        ],
      },
    });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
    loopStarter = await XmppUser.login(sb, 'botb', 'botb-pw', 'console');
  });

  after(async function () {
    await alice?.stop();
    await loopStarter?.stop();
    await stopSandbox(sb, suiteFailed(this));
    server?.close();
  });

  it('signs Webhook-Id and Webhook-Timestamp with the body (v1), keeps X-Mod-Rest-Signature, and gives each call its own id', async () => {
    const texts = [unique('one'), unique('two')];
    for (const text of texts) {
      await alice.send(xml('message', { to: 'x@echo.localhost', type: 'chat' }, xml('body', {}, text)));
      await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
    }
    const mine = calls.filter((c) => c.route === 'echo' && texts.some((t) => c.body.includes(t)));
    expect(mine).to.have.length(2);
    for (const call of mine) {
      expect(verified(call), 'Webhook-Signature checks').to.equal(true);
      expect(oldSignatureValid(call), 'X-Mod-Rest-Signature still checks').to.equal(true);
      expect(call.headers['webhook-id']).to.match(/^msg_[0-9A-Fa-f]{32}$/);
    }
    expect(mine[0]!.headers['webhook-id']).to.not.equal(mine[1]!.headers['webhook-id']);
  });

  it('keeps the delivery id across the retries of one call, with a fresh timestamp signed at each attempt', async () => {
    flakyFailures = 2;
    const text = unique('flaky');
    await alice.send(xml('message', { to: 'x@flaky.localhost', type: 'chat' }, xml('body', {}, text)));
    await alice.waitFor((s) => bodyOf(s) === `flaky: ${text}`);
    const attempts = calls.filter((c) => c.route === 'flaky' && c.body.includes(text));
    expect(attempts, 'two 503s, then the accepted attempt').to.have.length(3);
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size, 'one id for the three attempts').to.equal(1);
    for (const a of attempts) expect(verified(a)).to.equal(true);
  });

  it('stops two account webhooks that answer each other after a bounded chain of calls', async () => {
    const text = unique('loop');
    const before = calls.length;
    // botb's own session starts it: botb -> bota, whose bot answers botb, whose bot answers bota...
    await loopStarter.send(xml('message', { to: 'bota@localhost', type: 'chat' }, xml('body', {}, text)));
    const chain = (): Call[] => calls.slice(before).filter((c) => c.body.includes(text));
    for (let waited = 0; waited < 5_000 && chain().length < 2; waited += 100) await sleep(100);
    await sleep(2_000);
    const settled = chain().length;
    await sleep(1_000);
    expect(chain().length, 'nothing more once it stopped').to.equal(settled);
    const byBot = (route: string) => chain().filter((c) => c.route === route).length;
    expect(byBot('a'), 'bota was called').to.be.at.least(2);
    expect(byBot('b'), 'botb was called').to.be.at.least(2);
    // At most 6 calls in the chain (max 5 replies in a row), and the refusal's error to one bot.
    expect(settled).to.be.at.most(7);
  });
});
