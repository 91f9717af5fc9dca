// SPDX-License-Identifier: GPL-2.0-or-later
// Admins administer: a command line POSTed by an admin (--auth, or Basic) answers what
// `ejabberdctl CMD ARGS` prints on the same node, byte for byte, on every ejabberd version;
// `user`-policy commands (get_roster...) included, which ejabberdctl 23.01 and 24.12 refuse
// or crash on with --auth. ejabberdctl itself is the oracle: ejabberd's own client
// (`erl -s ejabberd_ctl -extra NODE ARGS`, as Debian's script runs it) against the sandbox node.
// And a non-admin allowed a user command acts on its own account only.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { post, startSandbox, stopSandbox, suiteFailed } from './support.js';

const ADMIN_PW = 'Adm1n-pw-0rac1e';
const BOB_PW = 'B0b-pw-0rac1e';

/** Read-only command lines, as ejabberdctl takes them (no quoting needed). */
const READ_ONLY: string[][] = [
  ['registered_users', 'localhost'],
  ['registered_vhosts'],
  ['get_roster', 'alice', 'localhost'], // policy `user`
  ['get_roster', 'bob', 'localhost'], // policy `user`
  ['get_vcard', 'alice', 'localhost', 'FN'],
  ['get_offline_count', 'alice', 'localhost'],
  ['check_account', 'alice', 'localhost'],
  ['connected_users_number'],
  ['stats', 'registeredusers'],
  ['stats_host', 'registeredusers', 'localhost'],
  ['user_sessions_info', 'alice', 'localhost'],
  ['mod_rest'], // the OAuth scope's command, which does nothing: it runs over POST /rest too
  ['status'], // ejabberdctl answers it itself, with other words than ejabberd's `status` command
];

/**
 * What mod_rest answers for a command ejabberdctl ran: its output without the line end ejabberdctl
 * adds, or, when it prints nothing, its exit code (as the original mod_rest answered).
 */
function ctlAnswer(ctl: { stdout: string; code: number }): [number, string] {
  const status = ctl.code === 0 ? 200 : 422;
  return ctl.stdout === '' ? [status, String(ctl.code)] : [status, ctl.stdout.replace(/\n$/, '')];
}

describe('admins administer: POST /rest answers what ejabberdctl prints, on every version', function () {
  let sb: Sandbox | undefined;
  const basic = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

  before(async function () {
    sb = await startSandbox('ctl-oracle', {
      distribution: true,
      users: [
        ['admin', ADMIN_PW],
        ['alice', 'alice-pw-unused'],
        ['bob', BOB_PW],
      ],
      config: { modules: { mod_roster: {}, mod_vcard: {}, mod_offline: {}, mod_admin_extra: {} } },
      // bob may run get_roster (a user command), nothing else; admins (configure) everything.
      modRest: { access_commands: [{ configure: 'all' }, { local: ['get_roster'] }] },
    });
    for (const setup of [
      ['add_rosteritem', 'alice', 'localhost', 'bob', 'localhost', 'Bob', 'Friends', 'both'],
      ['add_rosteritem', 'bob', 'localhost', 'alice', 'localhost', 'Alice', 'Friends', 'both'],
      ['set_vcard', 'alice', 'localhost', 'FN', 'Alice Oracle'],
    ]) {
      const done = await sb.ctl(setup);
      expect(done.code, `${setup.join(' ')}: ${done.stdout}`).to.equal(0);
    }
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('has an oracle: ejabberdctl reaches the node and lists its users', async function () {
    const ctl = await sb!.ctl(['registered_users', 'localhost']);
    expect(ctl).to.deep.equal({ stdout: 'admin\nalice\nbob\n', code: 0 });
  });

  for (const line of READ_ONLY) {
    it(`answers \`${line.join(' ')}\` for an admin's --auth and Basic as ejabberdctl prints it`, async function () {
      const expected = ctlAnswer(await sb!.ctl(line));
      const auth = await post(sb!, `--auth admin localhost ${ADMIN_PW} ${line.join(' ')}`);
      expect([auth.status, auth.body], '--auth').to.deep.equal(expected);
      const viaBasic = await post(sb!, line.join(' '), { headers: basic('admin', ADMIN_PW) });
      expect([viaBasic.status, viaBasic.body], 'Basic').to.deep.equal(expected);
    });
  }

  it("runs a user command on a non-admin's own account, given or implied", async function () {
    const expected = ctlAnswer(await sb!.ctl(['get_roster', 'bob', 'localhost']));
    expect(expected[1]).to.include('alice@localhost');
    for (const line of ['get_roster', 'get_roster bob localhost', 'get_roster BOB localhost']) {
      const reply = await post(sb!, `--auth bob localhost ${BOB_PW} ${line}`);
      expect([reply.status, reply.body], line).to.deep.equal(expected);
    }
    const viaBasic = await post(sb!, 'get_roster', { headers: basic('bob', BOB_PW) });
    expect([viaBasic.status, viaBasic.body], 'Basic').to.deep.equal(expected);
  });

  it("lets an admin run a user command on its own account without naming it", async function () {
    const expected = ctlAnswer(await sb!.ctl(['get_roster', 'admin', 'localhost']));
    const reply = await post(sb!, `--auth admin localhost ${ADMIN_PW} get_roster`);
    expect([reply.status, reply.body]).to.deep.equal(expected);
  });

  it("refuses a non-admin a user command on another account (403), and says why", async function () {
    const reply = await post(sb!, `--auth bob localhost ${BOB_PW} get_roster alice localhost`);
    expect([reply.status, reply.body]).to.deep.equal([
      403,
      "Error: bob@localhost may run 'get_roster' for its own account only: ejabberd's configure rule does not make it an admin of 'localhost'.",
    ]);
    const viaBasic = await post(sb!, 'get_roster alice localhost', { headers: basic('bob', BOB_PW) });
    expect(viaBasic.status, 'Basic').to.equal(403);
  });

  it('counts the arguments against the nearer form (own account, or user and host given)', async function () {
    const short = await post(sb!, `--auth admin localhost ${ADMIN_PW} get_roster alice`);
    expect([short.status, short.body]).to.deep.equal([400, "Error: the command 'get_roster' requires 1 more argument."]);
    const long = await post(sb!, `--auth admin localhost ${ADMIN_PW} get_roster alice localhost x`);
    expect([long.status, long.body]).to.deep.equal([400, "Error: the command 'get_roster' requires 1 less argument."]);
  });

  it('answers `ejabberdctl help mod_rest_stats` and `help mod_rest` (23.01 crashed: the definer had no behaviour)', async function () {
    for (const topic of ['mod_rest_stats', 'mod_rest']) {
      const help = await sb!.ctl(['help', topic]);
      expect(help.code, `help ${topic}: ${help.stdout}`).to.equal(0);
      expect(help.stdout, `help ${topic}`).to.match(new RegExp(`Command Name: ${topic}\\b`));
      expect(help.stdout, `help ${topic}`).to.include('Module: mod_rest\n');
      expect(help.stdout, `help ${topic}`).not.to.include('Unhandled exception');
    }
  });
});
