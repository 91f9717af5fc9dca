// SPDX-License-Identifier: GPL-2.0-or-later
// The README and docs/ are the reference operators read: together they must name every answer
// body and every option the code has. This fails when they drift apart. (docs/pending/ holds
// drafts not yet folded into a page, so it does not count.)
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CATALOGUE, INTERNAL_ERROR } from '../../src/rest/errors.js';

const ROOT = path.join(__dirname, '..', '..');
/** README.md and the pages of docs/ (not its subdirectories). */
const pages = [
  path.join(ROOT, 'README.md'),
  ...readdirSync(path.join(ROOT, 'docs'), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => path.join(ROOT, 'docs', e.name)),
];
const docs = pages.map((f) => readFileSync(f, 'utf8')).join('\n');

/** GitHub's anchors for a page's headings (outside fenced blocks). */
function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set(
    [...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'),
    ),
  );
}
const erlangSources = readdirSync(path.join(ROOT, 'erl'))
  .filter((f) => f.endsWith('.erl'))
  .map((f) => readFileSync(path.join(ROOT, 'erl', f), 'utf8'))
  .join('\n');
const mainTs = readFileSync(path.join(ROOT, 'src', 'main.ts'), 'utf8');

describe('README.md and docs/', () => {
  it('show every answer body of the worker catalogue', () => {
    const bodies = [...Object.values(CATALOGUE).map((e) => e.body), INTERNAL_ERROR.body];
    for (const body of bodies) expect(docs, body).to.include(body);
  });

  it('show every fixed answer body of the Erlang stub and of the worker entry point', () => {
    const literals = [
      ...[...erlangSources.matchAll(/<<"(Error: [^"]+)">>/g)].map((m) => m[1]!),
      ...[...mainTs.matchAll(/'(Error: [^']+)'/g)].map((m) => m[1]!),
    ];
    expect(literals.length).to.be.greaterThan(10);
    for (const body of literals) expect(docs, body).to.include(body);
  });

  it('document every option that mod_options/1 declares, in a table row', () => {
    const block = erlangSources.match(/mod_options\(_?Host\) ->([\s\S]*?)\]\./)![1]!;
    const options = [...block.matchAll(/\{([a-z_]+),/g)].map((m) => m[1]!);
    expect(options).to.include.members(['allowed_ips', 'access_commands']);
    for (const option of options) expect(docs, option).to.include(`| \`${option}\` |`);
  });

  it('never show a bare number for a timeout (in ejabberd.yml it means seconds, or milliseconds)', () => {
    const bare = [...docs.matchAll(/^\s*(?:[a-z_]*timeout|retry_delay):\s*\d+\s*(?:#.*)?$/gm)].map((m) => m[0].trim());
    expect(bare).to.deep.equal([]);
  });

  it('show the load balancer configurations that loadbalancer.test.ts runs, exactly (operations.md)', () => {
    // A block whose info string names a file of docs/examples (```nginx docs/examples/nginx.conf)
    // is that file, byte for byte: the page cannot drift from the tested configuration.
    const operations = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const shown = new Map(
      [...operations.matchAll(/^```\S*[ \t]+(docs\/examples\/\S+)[^\n]*\n([\s\S]*?)^```/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const files = readdirSync(path.join(ROOT, 'docs', 'examples')).map((f) => `docs/examples/${f}`);
    expect([...shown.keys()].sort()).to.deep.equal(files.sort());
    expect(files).to.include.members(['docs/examples/haproxy.cfg', 'docs/examples/nginx.conf']);
    for (const file of files) expect(shown.get(file), file).to.equal(readFileSync(path.join(ROOT, file), 'utf8'));
  });

  it('link only to pages and headings that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const markdown = readFileSync(page, 'utf8');
      for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http:, https:, mailto:
        const [file, anchor] = target!.split('#');
        const linked = file ? path.resolve(path.dirname(page), file) : page;
        if (!existsSync(linked)) broken.push(`${path.relative(ROOT, page)}: ${target}`);
        else if (anchor && linked.endsWith('.md') && !anchors(readFileSync(linked, 'utf8')).has(anchor)) {
          broken.push(`${path.relative(ROOT, page)}: ${target}`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });
});
