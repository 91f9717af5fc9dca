// SPDX-License-Identifier: GPL-2.0-or-later
// Every curl, Python and PHP example of the README, run as a user would run it (curl, python3,
// php) against a real ejabberd on each version of the matrix: a `# ` (PHP: `// `) line after a
// command is its exact output.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, type Sandbox } from '../../scripts/sandbox.js';
import { startSandbox, stopSandbox, suiteFailed } from './support.js';

interface Example {
  language: 'sh' | 'python' | 'php' | 'javascript';
  /** The command (sh) or the whole script (python), as the README shows it. */
  code: string;
  /** What it must print: the `# ` lines that follow each command, in order. */
  expected: string;
}

const README_PORT = '5285';

/** The README's sh blocks that run curl (one example per command) and its python and php blocks (one each). */
function examples(readme: string): Example[] {
  const found: Example[] = [];
  for (const [, language, block] of readme.matchAll(/```(sh|python|php|javascript)\n([\s\S]*?)```/g)) {
    const lines = block!.split('\n');
    if (language === 'python' || language === 'php' || language === 'javascript') {
      const marker = language === 'python' ? '# ' : '// ';
      const expected = lines.filter((l) => l.startsWith(marker)).map((l) => l.slice(marker.length));
      found.push({ language: language as Example['language'], code: block!, expected: expected.join('\n') });
      continue;
    }
    if (!block!.includes('curl ')) continue; // make targets, installation steps
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith('curl ')) continue;
      const command = [lines[i]!];
      while (command[command.length - 1]!.endsWith('\\')) command.push(lines[++i]!);
      const expected: string[] = [];
      while (lines[i + 1]?.startsWith('# ')) expected.push(lines[++i]!.slice(2));
      found.push({ language: 'sh', code: command.join('\n'), expected: expected.join('\n') });
    }
  }
  return found;
}

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const EXAMPLES = examples(README);

describe('the README examples, run with curl and python3', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('readme', {
      users: [
        ['admin', 'admin-password'],
        ['nolan', 'nolan-password'],
      ],
      // As ejabberd's stock configuration: send_message comes from mod_admin_extra, ping from mod_ping.
      config: { modules: { mod_roster: {}, mod_disco: {}, mod_admin_extra: {}, mod_ping: {}, mod_version: {} } },
    });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('has examples to run: at least five curl commands, a Python script and a PHP one', () => {
    expect(EXAMPLES.filter((e) => e.language === 'sh').length).to.be.at.least(5);
    expect(EXAMPLES.filter((e) => e.language === 'python').length).to.be.at.least(1);
    expect(EXAMPLES.filter((e) => e.language === 'php').length).to.be.at.least(1);
    expect(EXAMPLES.filter((e) => e.language === 'javascript').length).to.be.at.least(1);
  });

  for (const example of EXAMPLES) {
    const title = example.code.replace(/\\\n\s*/g, '').split('\n')[0]!.replace('http://127.0.0.1:5285/rest ', '');
    it(`${example.language}: ${title.slice(0, 110)}`, function () {
      const code = example.code.replaceAll(`127.0.0.1:${README_PORT}`, `127.0.0.1:${sb!.options.httpPort}`);
      expect(code, 'the example talks to the port the README names').to.not.equal(example.code);
      const [command, args] =
        example.language === 'sh'
          ? ['bash', ['-c', code]]
          : example.language === 'python'
            ? ['python3', ['-c', code]]
            : example.language === 'javascript'
              ? ['node', ['-e', code]]
              : ['php', ['-r', code.replace(/^<\?php\n/, '')]];
      const out = execFileSync(command, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out.replace(/\n$/, '')).to.equal(example.expected);
    });
  }
});
