// SPDX-License-Identifier: GPL-2.0-or-later
// The documented echo bots (```python webhook-bot, ```javascript webhook-bot blocks of docs/, or of
// the README while docs/ has none), each run as printed (python3, node) as the HTTP service of a
// webhook configured as the README's first entry, against a real ejabberd and a real XMPP client:
// a chat message in, its echo out, of type chat (a reply without a type is a `normal` message).
import { xml } from '@xmpp/client';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, ROOT, type Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, startSandbox, stopSandbox, suiteFailed, unique, XmppUser } from './support.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const DOCS_DIR = path.join(ROOT, 'docs');
const DOCS = existsSync(DOCS_DIR)
  ? readdirSync(DOCS_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).sort().map((f) => readFileSync(path.join(DOCS_DIR, f), 'utf8')).join('\n')
  : '';
const botsIn = (text: string) => [...text.matchAll(/```(python|javascript) webhook-bot\n([\s\S]*?)```/g)].map(([, language, code]) => ({ language: language!, code: code! }));
const BOTS = botsIn(DOCS).length > 0 ? botsIn(DOCS) : botsIn(README);
const README_BOT_PORT = '8080';

describe('the README echo bots, run as webhook services (python3 and node)', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  const ports: number[] = [];

  before(async function () {
    this.timeout(60_000);
    for (const _ of BOTS) ports.push(await freePort());
    // The README's first entry, once per bot: each on its own subdomain and port.
    const webhooks = BOTS.map((bot, i) => ({ url: `http://127.0.0.1:${ports[i]}/`, domain: `${bot.language}${i}.@HOST@`, format: 'json', secret: 'change-me' }));
    expect(README + DOCS).to.include('domain: "echo.@HOST@"').and.include('format: json').and.include('secret: "change-me"');
    sb = await startSandbox('webhook-bots', { users: [['alice', 'alice-pw']], modRest: { webhooks } });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });

  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it('has a Python bot and a JavaScript bot', () => {
    expect(BOTS.map((b) => b.language)).to.include.members(['python', 'javascript']);
  });

  BOTS.forEach((bot, i) => {
    const domain = `${bot.language}${i}.localhost`;
    it(`${bot.language} (bot ${i + 1}): echoes a chat message sent to anyone@${domain} as a chat message`, async function () {
      const code = bot.code.replaceAll(README_BOT_PORT, String(ports[i]));
      expect(code).to.not.equal(bot.code);
      const child: ChildProcess = spawn(bot.language === 'python' ? 'python3' : 'node', [bot.language === 'python' ? '-c' : '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        await sb!.waitUntilListening(ports[i]!, 10_000);
        const text = unique(bot.language);
        await alice.send(xml('message', { to: `anyone@${domain}`, type: 'chat' }, xml('body', {}, text)));
        const reply = await alice.waitFor((s) => bodyOf(s) === `echo: ${text}`);
        expect(reply.attrs.from).to.equal(`anyone@${domain}`);
        expect(reply.attrs.type, 'the echo keeps the chat type').to.equal('chat');
      } catch (err) {
        throw new Error(`${String(err)}; the bot said: ${stderr}`);
      } finally {
        child.kill('SIGTERM');
      }
    });
  });
});
