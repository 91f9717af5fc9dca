// SPDX-License-Identifier: GPL-2.0-or-later
// A newcomer's first ten minutes: `make run` (scripts/sandbox.ts run, started as the Makefile
// starts it, on test ports and with a node name of its own so that it can run beside a user's
// own), then what it prints (the curl lines, the web admin and its login, the ejabberdctl line,
// as root on the host's ejabberd), then the README's examples in order, outputs compared; then
// Ctrl-C (SIGINT) stops everything.
import { expect } from 'chai';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EJABBERDCTL_COOKIE, ROOT, findProcesses, freePort, sleep, target } from '../../scripts/sandbox.js';
import { examples, exampleTitle, README, runExample } from './doc-examples.js';

const START_TIMEOUT_MS = 60_000;

describe('a newcomer: make run, what it prints, then the README in order', function () {
  let run: ChildProcess | undefined;
  let printed = '';
  let httpPort = 0;
  let dir = '';
  const node = `mod_rest_newcomer_${process.pid}@localhost`;

  before(async function () {
    this.timeout(START_TIMEOUT_MS + 10_000);
    httpPort = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-it-newcomer-'));
    run = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/sandbox.ts', 'run'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        MOD_REST_RUN_HTTP_PORT: String(httpPort),
        MOD_REST_RUN_C2S_PORT: String(await freePort()),
        MOD_REST_RUN_DIR: dir,
        MOD_REST_RUN_NODE: node,
      },
    });
    run.stdout!.on('data', (d: Buffer) => (printed += d.toString()));
    run.stderr!.on('data', (d: Buffer) => (printed += d.toString()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!printed.includes('Ctrl-C stops it.')) {
      if (run.exitCode !== null) throw new Error(`make run exited (${run.exitCode}): ${printed.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`make run did not say it was ready: ${printed.slice(-2000)}`);
      await sleep(100);
    }
  });

  after(async function () {
    this.timeout(30_000);
    if (run && run.exitCode === null) {
      run.kill('SIGKILL'); // only if the Ctrl-C test did not stop it
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints where everything is: the URLs, the accounts and their passwords, the web admin and its login', () => {
    const base = `http://127.0.0.1:${httpPort}`;
    for (const text of [`${base}/rest`, `${base}/rest/health`, `${base}/rest/metrics`, `${base}/admin/`, 'admin@localhost / admin-password', 'nolan@localhost / nolan-password', 'alice@localhost / alice-password']) {
      expect(printed, text).to.include(text);
    }
  });

  it('prints curl lines that work as printed', () => {
    const lines = printed.slice(printed.indexOf('Try, from another terminal')).split('\n');
    const commands: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.trim().startsWith('curl ')) continue;
      const command = [lines[i]!.trim()];
      while (command[command.length - 1]!.endsWith('\\')) command.push(lines[++i]!.trim());
      commands.push(command.join('\n'));
    }
    expect(commands).to.have.length(3);
    const outputs = commands.map((c) => execFileSync('bash', ['-c', c], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(outputs).to.deep.equal(['Ok\n', 'admin\nalice\nnolan\n', '202\n']);
  });

  it('serves the web admin it prints, to the login it prints', async () => {
    const url = /web admin:\s+(\S+)/.exec(printed)![1]!;
    const page = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from('admin@localhost:admin-password').toString('base64')}` } });
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include('ejabberd Web Admin');
  });

  it("prints an ejabberdctl line that Debian's ejabberdctl runs as printed (root, the host's ejabberd)", function () {
    const line = /ejabberdctl:\s+(ejabberdctl [^\n]*?)\s+\(as root\)/.exec(printed)?.[1];
    if (process.getuid?.() !== 0 || !target.isHost || !existsSync('/usr/sbin/ejabberdctl')) {
      expect(printed).to.include('ejabberdctl');
      this.skip();
    }
    expect(line, `make run printed no ejabberdctl line (needs ${EJABBERDCTL_COOKIE})`).to.be.a('string');
    expect(line).to.equal(`ejabberdctl --node ${node} registered_users localhost`);
    const out = execFileSync('bash', ['-c', line!], { encoding: 'utf8', timeout: 30_000, cwd: os.tmpdir() });
    expect(out).to.equal('admin\nalice\nnolan\n');
  });

  const readmeExamples = examples(readFileSync(README, 'utf8'));
  it('has README examples of each kind: a stanza, a command with --auth, the API with Basic, JSON', () => {
    const all = readmeExamples.map((e) => e.code).join('\n');
    expect(all).to.include('<message').and.include('--auth admin').and.include('-u nolan:').and.include('application/json');
  });

  for (const example of readmeExamples) {
    it(`README, ${exampleTitle(example)}`, () => {
      expect(runExample(example, httpPort)).to.equal(example.expected);
    });
  }

  it('stops on Ctrl-C (SIGINT), ejabberd and its worker with it', async function () {
    this.timeout(30_000);
    const exited = new Promise<number | null>((resolve) => run!.once('exit', (code) => resolve(code)));
    run!.kill('SIGINT');
    expect(await exited).to.equal(0);
    const stillServing = await fetch(`http://127.0.0.1:${httpPort}/rest`).then(() => true, () => false);
    expect(stillServing, 'the HTTP listener is gone').to.equal(false);
    expect(findProcesses(path.join(dir, 'modules', 'mod_rest', 'priv', 'worker', 'main.js')), 'no worker left').to.deep.equal([]);
  });
});
