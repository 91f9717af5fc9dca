// SPDX-License-Identifier: GPL-2.0-or-later
// The documentation's echo bots (```python webhook-bot, ```javascript webhook-bot in README.md
// and the pages under docs/), each run as the page shows it (python3, node) as the HTTP service
// of a webhook configured as the first entry of docs/webhooks.md, against a real ejabberd and a real XMPP
// client: a message in, its echo out. Bots that check Webhook-Signature (Standard Webhooks) are
// also sent a replayed, a forged and a repeated call, which they must not act on.
import { xml } from '@xmpp/client';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, ROOT, type Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, startSandbox, stopSandbox, suiteFailed, unique, XmppUser } from './support.js';

const WEBHOOKS_PAGE = readFileSync(path.join(ROOT, 'docs', 'webhooks.md'), 'utf8');
const PAGES = ['README.md', ...readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];
const BOTS = PAGES.flatMap((page) =>
  [...readFileSync(path.join(ROOT, page), 'utf8').matchAll(/```(python|javascript) webhook-bot\n([\s\S]*?)```/g)].map(([, language, code]) => ({
    language: language!,
    code: code!,
    page,
  })),
);
const BOT_PORT = '8080';
const BOT_SECRET = 'change-me';

/** A call as mod_rest makes it, signed at `timestamp` (Unix seconds), straight to a bot. */
function signedCall(port: number, id: string, timestamp: number, body: string, forge = false): Promise<{ status: number; body: string }> {
  const mac = createHmac('sha256', forge ? 'not-the-secret' : BOT_SECRET).update(`${id}.${timestamp}.${body}`).digest('base64');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Webhook-Id': id, 'Webhook-Timestamp': String(timestamp), 'Webhook-Signature': `v1,${mac}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the echo bots of the documentation, run as webhook services (python3 and node)', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  const ports: number[] = [];

  before(async function () {
    this.timeout(60_000);
    for (const _ of BOTS) ports.push(await freePort());
    // The first entry of docs/webhooks.md, once per bot: each on its own subdomain and port.
    const webhooks = BOTS.map((bot, i) => ({ url: `http://127.0.0.1:${ports[i]}/`, domain: `${bot.language}-${i}.@HOST@`, format: 'json', secret: BOT_SECRET }));
    expect(WEBHOOKS_PAGE).to.include('domain: "echo.@HOST@"').and.include('format: json').and.include('secret: "change-me"');
    sb = await startSandbox('webhook-bots', { users: [['alice', 'alice-pw']], modRest: { webhooks } });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });

  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('has a Python bot and a JavaScript bot on each page that shows bots', () => {
    for (const page of new Set(BOTS.map((b) => b.page))) {
      expect(BOTS.filter((b) => b.page === page).map((b) => b.language), page).to.deep.equal(['python', 'javascript']);
    }
    expect(BOTS.some((b) => b.code.includes('Webhook-Signature')), 'a page shows the Webhook-Signature check').to.equal(true);
  });

  BOTS.forEach((bot, i) => {
    it(`${bot.language} (${bot.page}): echoes a message sent to anyone@${bot.language}-${i}.localhost`, async function () {
      const code = bot.code.replaceAll(BOT_PORT, String(ports[i]));
      expect(code).to.not.equal(bot.code);
      const child: ChildProcess = spawn(bot.language === 'python' ? 'python3' : 'node', [bot.language === 'python' ? '-c' : '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        await sb!.waitUntilListening(ports[i]!, 10_000);
        const text = unique(bot.language);
        const domain = `${bot.language}-${i}.localhost`;
        await alice.send(xml('message', { to: `anyone@${domain}`, type: 'chat' }, xml('body', {}, text)));
        const reply = await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
        expect(reply.attrs.from).to.equal(`anyone@${domain}`);
        // A chat answered with a chat: a reply without a type would be a `normal` message.
        expect(reply.attrs.type, 'the reply keeps the message type').to.equal('chat');
        if (bot.code.includes('Webhook-Signature')) {
          const body = JSON.stringify({ kind: 'message', type: 'chat', to: `anyone@${domain}`, from: 'alice@localhost/desk', body: text });
          const now = Math.floor(Date.now() / 1000);
          const id = `msg_${unique('direct')}`;
          expect((await signedCall(ports[i]!, id, now - 600, body)).status, 'a call signed 10 minutes ago (a replay)').to.equal(401);
          expect((await signedCall(ports[i]!, id, now, body, true)).status, 'a forged signature').to.equal(401);
          const first = await signedCall(ports[i]!, id, now, body);
          expect([first.status, JSON.parse(first.body)]).to.deep.equal([200, { type: 'chat', body: `echo: ${text}` }]);
          expect((await signedCall(ports[i]!, id, now + 1, body)).status, 'the same id again: not acted on').to.equal(204);
        }
      } catch (err) {
        throw new Error(`${String(err)}; the bot said: ${stderr}`);
      } finally {
        child.kill('SIGTERM');
      }
    });
  });
});
