// SPDX-License-Identifier: GPL-2.0-or-later
// Every runnable example of README.md and docs/*.md, run as a user would run it (curl, python3,
// php, node) against `make run`'s configuration, on each version of the matrix. The markdown
// drives it (doc-examples.ts): a fenced block whose info string says `example` (```sh example)
// is run, and the `# ` lines (PHP and JavaScript: `// `) after each command are its exact
// output, final newline included. A block that talks to make run's port and is not run must
// say so (```console no-run), or be the browser app that browser.test.ts runs (browser-app).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runSetup, type Sandbox } from '../../scripts/sandbox.js';
import { blocks, DOCS_PORT, examples, exampleTitle, PAGES, runExample } from './doc-examples.js';
import { startSandbox, stopSandbox, suiteFailed } from './support.js';

describe('the examples of README.md and docs/, run as printed against make run\'s configuration', function () {
  const all = PAGES.map((page) => ({ page, markdown: readFileSync(page, 'utf8') }));

  it('has examples to run: curl commands, a Python, a PHP and a JavaScript program', () => {
    const found = all.flatMap(({ markdown }) => examples(markdown));
    expect(found.filter((e) => e.language === 'sh').length).to.be.at.least(20);
    for (const language of ['python', 'php', 'javascript'] as const) expect(found.some((e) => e.language === language), language).to.equal(true);
  });

  it('runs every block that talks to make run, or the block says why not (no-run)', () => {
    const unmarked = all.flatMap(({ page, markdown }) =>
      blocks(markdown)
        // browser-app: the page browser.test.ts runs in Chromium (docs/api.md)
        .filter((b) => b.body.includes(`127.0.0.1:${DOCS_PORT}/rest`) && !['example', 'no-run', 'browser-app'].some((w) => b.words.includes(w)))
        .map((b) => `${path.relative(ROOT, page)}: ${b.body.split('\n')[0]}`),
    );
    expect(unmarked).to.deep.equal([]);
  });

  for (const { page, markdown } of all) {
    const pageExamples = examples(markdown);
    if (pageExamples.length === 0) continue;
    describe(path.relative(ROOT, page), function () {
      let sb: Sandbox | undefined;
      before(async function () {
        // One fresh ejabberd per page, as `make run` configures it: the page's examples in order.
        sb = await startSandbox('docs', runSetup());
      });
      after(async function () {
        await stopSandbox(sb, suiteFailed(this));
      });

      for (const example of pageExamples) {
        it(exampleTitle(example), function () {
          expect(example.code, 'the example talks to the port make run uses').to.include(`127.0.0.1:${DOCS_PORT}`);
          expect(runExample(example, sb!.options.httpPort)).to.equal(example.expected);
        });
      }
    });
  }
});
