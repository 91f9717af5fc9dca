// SPDX-License-Identifier: GPL-2.0-or-later
// The runnable examples of README.md and docs/*.md, read from the markdown itself: a fenced
// block whose info string says `example` (```sh example) is run; in it, the `# ` lines (PHP
// and JavaScript: `// `) after each command are what it prints, final newline included.
// Used by readme-examples.test.ts (every page) and newcomer.test.ts (the README after make run).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/sandbox.js';

export interface Example {
  language: 'sh' | 'python' | 'php' | 'javascript';
  /** The command (sh: one per command, with its continuation lines) or the whole script. */
  code: string;
  /** What it must print, exactly. */
  expected: string;
}

/** The port of `make run` that the docs name; the tests put their own in its place. */
export const DOCS_PORT = '5285';
const LANGUAGES = new Set(['sh', 'python', 'php', 'javascript']);

export interface Block {
  language: string;
  words: string[];
  body: string;
}

export function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\S*)([^\n]*)\n([\s\S]*?)^```/gm)].map(([, language, words, body]) => ({
    language: language!,
    words: words!.trim().split(/\s+/).filter(Boolean),
    body: body!,
  }));
}

/** The examples of one page, in page order. */
export function examples(markdown: string): Example[] {
  const found: Example[] = [];
  for (const block of blocks(markdown).filter((b) => b.words.includes('example'))) {
    if (!LANGUAGES.has(block.language)) throw new Error(`an example block must be sh, python, php or javascript: ${block.language}`);
    const language = block.language as Example['language'];
    const lines = block.body.split('\n');
    if (language !== 'sh') {
      const marker = language === 'python' ? '# ' : '// ';
      const expected = lines.filter((l) => l.startsWith(marker)).map((l) => `${l.slice(marker.length)}\n`);
      found.push({ language, code: block.body, expected: expected.join('') });
      continue;
    }
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() === '') continue;
      if (lines[i]!.startsWith('# ')) throw new Error(`output without a command in a sh example: ${lines[i]}`);
      const command = [lines[i]!];
      while (command[command.length - 1]!.endsWith('\\')) command.push(lines[++i]!);
      const expected: string[] = [];
      while (lines[i + 1]?.startsWith('# ')) expected.push(`${lines[++i]!.slice(2)}\n`);
      found.push({ language, code: command.join('\n'), expected: expected.join('') });
    }
  }
  return found;
}

/** Runs one example against the HTTP listener on `port`; resolves with what it printed. */
export function runExample(example: Example, port: number): string {
  const code = example.code.replaceAll(`127.0.0.1:${DOCS_PORT}`, `127.0.0.1:${port}`);
  const [command, args] =
    example.language === 'sh'
      ? ['bash', ['-c', code]]
      : example.language === 'python'
        ? ['python3', ['-c', code]]
        : example.language === 'javascript'
          ? ['node', ['-e', code]]
          : ['php', ['-r', code.replace(/^<\?php\n/, '')]];
  return execFileSync(command, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function exampleTitle(example: Example): string {
  const line = example.code.replace(/\\\n\s*/g, '').split('\n').find((l) => l.trim() !== '' && !/^(import|<\?php)\b/.test(l)) ?? '';
  return `${example.language}: ${line.replace(`http://127.0.0.1:${DOCS_PORT}/rest`, '/rest').slice(0, 100)}`;
}

export const README = path.join(ROOT, 'README.md');
/** README.md, then the pages of docs/ (not docs/pending/, drafts not yet folded in). */
export const PAGES = [
  README,
  ...readdirSync(path.join(ROOT, 'docs'), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => path.join(ROOT, 'docs', e.name))
    .sort(),
];
