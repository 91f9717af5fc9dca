// SPDX-License-Identifier: GPL-2.0-or-later
// The README is the reference operators read: it must name every answer body and every option
// the code has. This fails when they drift apart.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CATALOGUE, INTERNAL_ERROR } from '../../src/rest/errors.js';

const ROOT = path.join(__dirname, '..', '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const erlangSources = readdirSync(path.join(ROOT, 'erl'))
  .filter((f) => f.endsWith('.erl'))
  .map((f) => readFileSync(path.join(ROOT, 'erl', f), 'utf8'))
  .join('\n');
const mainTs = readFileSync(path.join(ROOT, 'src', 'main.ts'), 'utf8');

describe('README', () => {
  it('shows every answer body of the worker catalogue', () => {
    const bodies = [...Object.values(CATALOGUE).map((e) => e.body), INTERNAL_ERROR.body];
    for (const body of bodies) expect(readme, body).to.include(body);
  });

  it('shows every fixed answer body of the Erlang stub and of the worker entry point', () => {
    const literals = [
      ...[...erlangSources.matchAll(/<<"(Error: [^"]+)">>/g)].map((m) => m[1]!),
      ...[...mainTs.matchAll(/'(Error: [^']+)'/g)].map((m) => m[1]!),
    ];
    expect(literals.length).to.be.greaterThan(10);
    for (const body of literals) expect(readme, body).to.include(body);
  });

  it('documents every option that mod_options/1 declares', () => {
    const block = erlangSources.match(/mod_options\(_?Host\) ->([\s\S]*?)\]\./)![1]!;
    const options = [...block.matchAll(/\{([a-z_]+),/g)].map((m) => m[1]!);
    expect(options).to.include.members(['allowed_ips', 'access_commands']);
    for (const option of options) expect(readme, option).to.include(`| \`${option}\` |`);
  });
});
