// SPDX-License-Identifier: GPL-2.0-or-later
// The echo bots of docs/webhooks.md (```python webhook-bot, ```javascript webhook-bot), each run as the
// page shows it (python3, node) as the HTTP service of a webhook configured as the page's
// first entry, against a real ejabberd and a real XMPP client: a message in, its echo out.
import { xml } from '@xmpp/client';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, ROOT, type Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, startSandbox, stopSandbox, suiteFailed, unique, XmppUser } from './support.js';

const README = readFileSync(path.join(ROOT, 'docs', 'webhooks.md'), 'utf8');
const BOTS = [...README.matchAll(/```(python|javascript) webhook-bot\n([\s\S]*?)```/g)].map(([, language, code]) => ({ language: language!, code: code! }));
const README_BOT_PORT = '8080';

describe('the echo bots of docs/webhooks.md, run as webhook services (python3 and node)', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  const ports: number[] = [];

  before(async function () {
    this.timeout(60_000);
    for (const _ of BOTS) ports.push(await freePort());
    // The first entry of docs/webhooks.md, once per bot: each on its own subdomain and port.
    const webhooks = BOTS.map((bot, i) => ({ url: `http://127.0.0.1:${ports[i]}/`, domain: `${bot.language}.@HOST@`, format: 'json', secret: 'change-me' }));
    expect(README).to.include('domain: "echo.@HOST@"').and.include('format: json').and.include('secret: "change-me"');
    sb = await startSandbox('webhook-bots', { users: [['alice', 'alice-pw']], modRest: { webhooks } });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });

  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('has a Python bot and a JavaScript bot', () => {
    expect(BOTS.map((b) => b.language)).to.deep.equal(['python', 'javascript']);
  });

  BOTS.forEach((bot, i) => {
    it(`${bot.language}: echoes a message sent to anyone@${bot.language}.localhost`, async function () {
      const code = bot.code.replaceAll(README_BOT_PORT, String(ports[i]));
      expect(code).to.not.equal(bot.code);
      const child: ChildProcess = spawn(bot.language === 'python' ? 'python3' : 'node', [bot.language === 'python' ? '-c' : '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        await sb!.waitUntilListening(ports[i]!, 10_000);
        const text = unique(bot.language);
        await alice.send(xml('message', { to: `anyone@${bot.language}.localhost`, type: 'chat' }, xml('body', {}, text)));
        const reply = await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
        expect(reply.attrs.from).to.equal(`anyone@${bot.language}.localhost`);
        expect(reply.attrs.type, 'a chat gets a chat reply').to.equal('chat');
      } catch (err) {
        throw new Error(`${String(err)}; the bot said: ${stderr}`);
      } finally {
        child.kill('SIGTERM');
      }
    });
  });
});
