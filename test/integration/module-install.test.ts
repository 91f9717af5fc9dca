// SPDX-License-Identifier: GPL-2.0-or-later
// Installed the ejabberd way, on each version of the matrix: `make dist`'s package placed in
// CONTRIB_MODULES_PATH/sources, then `ejabberdctl module_check` and `module_install`, which
// compile it with the running ejabberd's own compiler and start it; `module_uninstall` removes it.
import { expect } from 'chai';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT, target, type Sandbox } from '../../scripts/sandbox.js';
import { eventually, findProcesses, messageXml, post, startSandbox, stopSandbox, suiteFailed, unique, XmppUser } from './support.js';

const DIST = path.join(ROOT, '_build', 'dist', 'mod_rest');
const ADMIN_PW = 'install-admin-pw';

/** What an expression evaluated to: erl_call -e prints `{ok, Value}`. */
async function evaluate(sb: Sandbox, expression: string): Promise<string> {
  const out = await sb.rpc(expression);
  const m = /^\{ok,\s*([\s\S]*)\}$/.exec(out);
  if (!m) throw new Error(`${expression} failed: ${out}`);
  return m[1]!;
}

/** ejabberdctl's own code path: the command line as ejabberd_ctl receives it; {Output, ExitCode}. */
async function ctl(sb: Sandbox, ...args: string[]): Promise<string> {
  return evaluate(sb, `ejabberd_ctl:process2([${args.map((a) => JSON.stringify(a)).join(', ')}], []).`);
}

/** A path the node names, as this process sees it (the node may run in a chroot). */
function seenFromHere(nodePath: string): string {
  return target.isHost ? nodePath : path.join(target.name, nodePath);
}

describe('module_install of the make dist package', function () {
  let sb: Sandbox | undefined;
  let ejabberdPriv = '';
  let privBefore: string[] = [];

  before(async function () {
    if (!existsSync(path.join(DIST, 'mod_rest.spec'))) throw new Error(`${DIST} is missing: run make dist`);
    sb = await startSandbox('module-install', {
      installed: false,
      distribution: true,
      users: [
        ['admin', ADMIN_PW],
        ['nolan', 'nolan-pw'],
      ],
    });
    // ejabberd 23.01's module_install also copies the package's priv/ into ejabberd's own
    // priv/ (its behaviour for every contrib module): noted here to be put back afterwards.
    const libDir = JSON.parse(await evaluate(sb, 'code:lib_dir(ejabberd).')) as string;
    ejabberdPriv = seenFromHere(path.join(libDir, 'priv'));
    privBefore = readdirSync(ejabberdPriv);
  });

  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
    for (const entry of ejabberdPriv ? readdirSync(ejabberdPriv) : []) {
      if (!privBefore.includes(entry)) rmSync(path.join(ejabberdPriv, entry), { recursive: true, force: true });
    }
  });

  it('passes module_check', async function () {
    cpSync(DIST, path.join(sb!.modulesPath, 'sources', 'mod_rest'), { recursive: true });
    // The operator's own copy of mod_rest.yml, listening on this test's port: module_check
    // (23.01) and module_install reload the configuration, which then uses it.
    sb!.writeModuleConfig();
    expect(await ctl(sb!, 'module_check', 'mod_rest')).to.equal('{[], 0}');
  });

  it('is compiled and started by module_install, and then serves stanzas and commands', async function () {
    expect(await ctl(sb!, 'module_install', 'mod_rest')).to.equal('{[], 0}');
    await sb!.waitUntilServing();
    expect(await evaluate(sb!, 'code:priv_dir(mod_rest).')).to.equal(JSON.stringify(path.join(sb!.modulesPath, 'mod_rest', 'priv')));
    expect(existsSync(path.join(sb!.modulesPath, 'mod_rest', 'ebin', 'mod_rest.beam')), 'compiled by ejabberd').to.equal(true);

    const nolan = await XmppUser.login(sb!, 'nolan', 'nolan-pw');
    try {
      const text = unique('installed');
      const sent = await post(sb!, messageXml('nolan@localhost', 'localhost/rest', text));
      expect([sent.status, sent.body]).to.deep.equal([200, 'Ok']);
      await nolan.waitForBody(text);
    } finally {
      await nolan.stop();
    }
    const users = await post(sb!, `--auth admin localhost ${ADMIN_PW} registered_users localhost`);
    expect([users.status, users.body]).to.deep.equal([200, 'admin\nnolan']);
  });

  it('is stopped and removed by module_uninstall, its worker with it', async function () {
    const worker = path.join(sb!.modulesPath, 'mod_rest', 'priv', 'worker', 'main.js');
    expect(findProcesses(worker).length, 'one worker while installed').to.equal(1);
    // The operator's copy of mod_rest.yml goes first: a configuration naming a module that is
    // gone cannot be reloaded (ejabberd then keeps the old one and module_uninstall says 1).
    rmSync(path.join(sb!.modulesPath, 'conf', 'mod_rest.yml'));
    expect(await ctl(sb!, 'module_uninstall', 'mod_rest')).to.equal('{[], 0}');
    expect(await eventually(() => findProcesses(worker).length === 0, 10_000), 'the worker is gone').to.equal(true);
    expect(existsSync(path.join(sb!.modulesPath, 'mod_rest')), 'the module tree is removed').to.equal(false);
  });
});
