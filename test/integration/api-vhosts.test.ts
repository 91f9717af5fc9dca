// SPDX-License-Identifier: GPL-2.0-or-later
// api_access on a multi-vhost server: every vhost involved must allow (the Host header's and the
// account's own), and an account of a vhost without mod_rest cannot use the API through another.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { post, startSandbox, stopSandbox, suiteFailed, type Reply } from './support.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const DENIED = 'Error: api_access does not allow this account.';

describe('the authenticated API on several vhosts: api_access of every vhost involved', function () {
  let sb: Sandbox | undefined;
  const send = (user: string, host: string): Promise<Reply> =>
    post(sb!, '<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>', {
      host,
      headers: { Authorization: basic(user, 'vh-pw-5e'), 'Content-Type': 'application/xmpp+xml' },
    });

  before(async function () {
    sb = await startSandbox('api-vhosts', {
      distribution: true,
      users: [['alice', 'vh-pw-5e']],
      config: {
        hosts: ['localhost', 'closed.localhost', 'plain.localhost'],
        access_rules: { nobody: { deny: 'all' } },
        modules: { mod_roster: {}, mod_disco: {}, mod_ping: {} },
        host_config: {
          'closed.localhost': { modules: { mod_rest: { api_access: 'nobody' }, mod_ping: {} } },
        },
      },
    });
    await sb.rpc(
      '[ejabberd_auth:try_register(U, H, <<"vh-pw-5e">>) || {U, H} <- [{<<"carol">>, <<"closed.localhost">>}, {<<"dave">>, <<"plain.localhost">>}]].',
    );
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it("admits an account whose own vhost and the Host header's both allow it", async function () {
    expect((await send('alice', 'localhost')).status).to.equal(200);
  });

  it("refuses an account through another vhost when its own vhost's api_access does not allow it", async function () {
    const through = await send('carol@closed.localhost', 'localhost');
    expect([through.status, through.body]).to.deep.equal([403, DENIED]);
    const direct = await send('carol', 'closed.localhost');
    expect([direct.status, direct.body]).to.deep.equal([403, DENIED]);
  });

  it('refuses an account of a vhost that does not run mod_rest', async function () {
    // The shipped configuration enables mod_rest everywhere: stopped on this vhost at run time.
    await sb!.rpc('gen_mod:stop_module(<<"plain.localhost">>, mod_rest).');
    const reply = await send('dave@plain.localhost', 'localhost');
    expect([reply.status, reply.body]).to.deep.equal([403, DENIED]);
  });
});
