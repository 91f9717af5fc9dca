// SPDX-License-Identifier: GPL-2.0-or-later
// Who may run commands when access_commands is not set (only ejabberd's admins, with --auth), and
// that no choice of Host header, --auth vhost or anonymous login widens it (the security issue's
// items 2, 6 and 7), against a real ejabberd with three vhosts.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { logEventually, post, startSandbox, stopSandbox, suiteFailed } from './support.js';

const ADMIN_PW = 'Adm1n-pw-41c7';
const BOB_PW = 'B0b-pw-88d2';
const NEEDS_AUTH = 'Error: send --auth USER HOST PASSWORD first: access_commands lets only some accounts run commands.';
const BAD_CREDENTIALS = 'Error: invalid --auth credentials.';

describe('commands by default: only ejabberd admins, with --auth, on every vhost involved', function () {
  let sb: Sandbox | undefined;
  const admin = (line: string) => post(sb!, `--auth admin localhost ${ADMIN_PW} ${line}`, { host: 'localhost' });

  before(async function () {
    sb = await startSandbox('command-access', {
      users: [
        ['admin', ADMIN_PW],
        ['bob', BOB_PW],
        ['u7', 'u7-pw'],
      ],
      config: {
        hosts: ['localhost', 'other.localhost', 'anon.localhost'],
        acl: { admin: { user: ['admin@localhost', 'admin@anon.localhost'] } },
        modules: { mod_roster: {}, mod_disco: {}, mod_admin_extra: {} },
        host_config: {
          // An operator opened commands on this vhost only: it must not reach localhost.
          'other.localhost': { modules: { mod_rest: { access_commands: 'open' } } },
          // ejabberd accepts any password for any name here, admin@anon.localhost included.
          'anon.localhost': { auth_method: ['anonymous'], anonymous_protocol: 'login_anon' },
        },
      },
    });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('refuses a command without --auth with 401 (the shipped configuration sets no access_commands)', async function () {
    for (const line of ['registered_users localhost', 'dump /tmp/mod_rest-dump-must-not-exist', 'stop']) {
      const reply = await post(sb!, line, { host: 'localhost' });
      expect([reply.status, reply.body], line).to.deep.equal([401, NEEDS_AUTH]);
    }
  });

  it('refuses with 403 a local user that the configure rule does not allow', async function () {
    const reply = await post(sb!, `--auth bob localhost ${BOB_PW} registered_users localhost`);
    expect([reply.status, reply.body]).to.deep.equal([403, "Error: bob@localhost is not allowed to run 'registered_users'."]);
  });

  it('runs any command for an admin with the right password', async function () {
    const reply = await admin('registered_users localhost');
    expect(reply.status).to.equal(200);
    expect(reply.body.split('\n')).to.include.members(['admin', 'bob', 'u7']);
  });

  it('runs commands without credentials on a vhost whose access_commands is open, for that vhost', async function () {
    const reply = await post(sb!, 'registered_users other.localhost', { host: 'other.localhost' });
    expect([reply.status, reply.body], 'no users there: the exit code 0').to.deep.equal([200, '0']);
  });

  it('does not let the Host header of an open vhost act on a closed one (unregister u7 localhost)', async function () {
    const reply = await post(sb!, 'unregister u7 localhost', { host: 'other.localhost' });
    expect([reply.status, reply.body]).to.deep.equal([401, NEEDS_AUTH]);
    const still = await admin('check_account u7 localhost');
    expect([still.status, still.body], 'u7@localhost still exists').to.deep.equal([200, '0']);
  });

  it('does not let an --auth account of another vhost widen what its own vhost allows', async function () {
    const reply = await post(sb!, `--auth bob localhost ${BOB_PW} unregister u7 localhost`, { host: 'other.localhost' });
    expect([reply.status, reply.body]).to.deep.equal([403, "Error: bob@localhost is not allowed to run 'unregister'."]);
  });

  it('refuses --auth for an account of a vhost with anonymous login, whatever the password', async function () {
    for (const pw of ['anything', ADMIN_PW]) {
      const reply = await post(sb!, `--auth admin anon.localhost ${pw} registered_users localhost`, { host: 'localhost' });
      expect([reply.status, reply.body], pw).to.deep.equal([401, BAD_CREDENTIALS]);
    }
  });
});

describe('failed --auth attempts from one address (max_auth_failures)', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('auth-failures', { users: [['admin', ADMIN_PW]], modRest: { max_auth_failures: 3 } });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('are answered 429 with Retry-After past the limit, even with the right password, and logged with IP and user', async function () {
    const wrong = 'Wr0ng-pw-e5a1c3';
    for (let i = 0; i < 3; i++) {
      const reply = await post(sb!, `--auth admin localhost ${wrong} registered_users localhost`);
      expect([reply.status, reply.body], `attempt ${i + 1}`).to.deep.equal([401, BAD_CREDENTIALS]);
    }
    const limited = await post(sb!, `--auth admin localhost ${ADMIN_PW} registered_users localhost`);
    expect([limited.status, limited.body]).to.deep.equal([429, 'Error: too many failed --auth attempts from this address; try again in a minute.']);
    expect(limited.headers['retry-after']).to.equal('60');
    expect(await logEventually(sb!, '--auth refused for admin@localhost from 127.0.0.1')).to.equal(true);
    expect(sb!.log()).to.not.include(wrong);
    // Other requests from the address are served meanwhile.
    const stanza = await post(sb!, '<message to="admin@localhost" from="localhost/rest"><body>x</body></message>');
    expect([stanza.status, stanza.body]).to.deep.equal([200, 'Ok']);
  });
});
