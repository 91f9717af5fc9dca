// SPDX-License-Identifier: GPL-2.0-or-later
// A worker that cannot start, dies at start, or talks garbage from its first byte: ejabberd
// still starts, every request is answered 503 with a reason, and the log says why.
import { expect } from 'chai';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sandbox } from '../../scripts/sandbox';
import { logEventually, post, startSandbox, stopSandbox } from './support';

const NOT_RUNNING = 'Error: the REST worker is not running; nothing was done, try again.';

function script(name: string, body: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mod_rest-exe-')), name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const cases: Array<{ name: string; exe: () => string; log: string }> = [
  { name: 'node is missing', exe: () => '/nonexistent/node', log: "cannot start the worker: '/nonexistent/node' not found" },
  { name: 'the worker exits at once', exe: () => script('dies', 'exit 3'), log: 'the worker exited with status 3' },
  {
    name: 'the worker writes garbage before any frame',
    exe: () => script('garbles', 'printf "garbage!"; exec node "$@"'),
    log: 'did not say hello within',
  },
];

for (const c of cases) {
  describe(`when ${c.name}`, function () {
    this.timeout(60_000);
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('worker-start', { httpOnly: true, modRest: { worker_executable: c.exe() } });
    });
    after(async () => stopSandbox(sb));

    it('ejabberd serves HTTP and answers 503 with Retry-After and a reason', async () => {
      const r = await post(sb, 'connected_users_number');
      expect([r.status, r.body]).to.deep.equal([503, NOT_RUNNING]);
      expect(r.headers['retry-after']).to.equal('1');
    });

    it('the log says why', async () => {
      expect(await logEventually(sb, c.log, 15_000), `log mentions "${c.log}"`).to.equal(true);
    });
  });
}
