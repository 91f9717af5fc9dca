// SPDX-License-Identifier: GPL-2.0-or-later
// The second security review's policy items, against a real ejabberd with several vhosts: a command
// that names no host involves every vhost (item 1); failed credentials are counted before they are
// checked (5), with the strictest limit of the vhosts involved (10), per IPv4 client or IPv6 /64
// (15); an account is held to its own vhost's policy whatever the Host header (11) and to ejabberd's
// c2s access rule (7); the sender is stamped in its canonical spelling (17).
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sandbox } from '../../scripts/sandbox.js';
import {
  bodyOf,
  expectNotDelivered,
  messageXml,
  post,
  restSentinel,
  startSandbox,
  stopSandbox,
  suiteFailed,
  unique,
  XmppUser,
  type Reply,
} from './support.js';

const ADMIN_PW = 'Adm1n-pw-6b0e';
const NEEDS_AUTH = 'Error: send --auth USER HOST PASSWORD first: access_commands lets only some accounts run commands.';
const BAD_CREDENTIALS = 'Error: invalid --auth credentials.';
const TOO_MANY = 'Error: too many failed --auth attempts from this address; try again in a minute.';
const XML = 'application/xmpp+xml';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
const statuses = (replies: Reply[]) => replies.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});

describe('node-wide commands (no host in their arguments) involve every vhost (item 1)', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('sec-node-wide', {
      users: [['admin', ADMIN_PW]],
      config: {
        hosts: ['localhost', 'open.localhost'],
        host_config: { 'open.localhost': { modules: { mod_rest: { access_commands: 'open' } } } },
      },
    });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('refuses dump, backup, connected_users and set_loglevel without credentials through the open vhost, and writes no file', async function () {
    const dump = path.join(os.tmpdir(), `mod_rest-${unique('dump')}`);
    const backup = path.join(os.tmpdir(), `mod_rest-${unique('backup')}`);
    for (const line of [`dump ${dump}`, `backup ${backup}`, 'connected_users', 'set_loglevel info']) {
      const reply = await post(sb!, line, { host: 'open.localhost' });
      expect([reply.status, reply.body], line).to.deep.equal([401, NEEDS_AUTH]);
    }
    expect(existsSync(dump), 'no password dump').to.equal(false);
    expect(existsSync(backup), 'no backup').to.equal(false);
  });

  it('still runs, without credentials, what names the open vhost alone', async function () {
    const reply = await post(sb!, 'registered_users open.localhost', { host: 'open.localhost' });
    expect([reply.status, reply.body]).to.deep.equal([200, '0']);
  });

  it('runs a node-wide command for an admin with --auth', async function () {
    const reply = await post(sb!, `--auth admin localhost ${ADMIN_PW} connected_users`, { host: 'open.localhost' });
    expect(reply.status).to.equal(200);
  });
});

describe('node-wide commands when every vhost is open: the original behaviour (item 1)', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('sec-all-open', { modRest: { access_commands: 'open' }, config: { hosts: ['localhost', 'open.localhost'] } });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('runs connected_users without credentials', async function () {
    const reply = await post(sb!, 'connected_users', { host: 'open.localhost' });
    expect(reply.status).to.equal(200);
  });
});

describe('failed credentials: counted before the check, the strictest limit, per client (items 5, 10, 15)', function () {
  let sb: Sandbox | undefined;
  // Each test its own client addresses (X-Forwarded-For from a trusted proxy), so counts do not mix.
  const as = (client: string, host = 'localhost') => ({ host, headers: { 'X-Forwarded-For': client } });
  const wrongAuth = (client: string, host = 'localhost') =>
    post(sb!, '--auth admin localhost Wr0ng-pw registered_users localhost', as(client, host));
  const ping = (client: string, password: string) =>
    post(sb!, '<iq type="get" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>', {
      headers: { 'X-Forwarded-For': client, Authorization: basic('admin', password), 'Content-Type': XML },
    });

  before(async function () {
    sb = await startSandbox('sec-auth-failures', {
      users: [['admin', ADMIN_PW]],
      modRest: { max_auth_failures: 10, allowed_ips: 'all', api_allowed_ips: 'all' },
      config: {
        hosts: ['localhost', 'lax.localhost'],
        // SCRAM: a check costs a PBKDF2 run, the window the race of item 5 went through.
        auth_password_format: 'scram',
        trusted_proxies: ['127.0.0.1'],
        host_config: { 'lax.localhost': { modules: { mod_rest: { max_auth_failures: 1000, allowed_ips: 'all' } } } },
      },
    });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('checks at most max_auth_failures of 200 wrong Basic passwords sent at once, and refuses the rest with 429', async function () {
    const replies = await Promise.all(Array.from({ length: 200 }, () => ping('192.0.2.5', 'Wr0ng-pw')));
    const counts = statuses(replies);
    expect(counts[401] ?? 0, JSON.stringify(counts)).to.be.within(1, 10);
    expect((counts[401] ?? 0) + (counts[429] ?? 0), JSON.stringify(counts)).to.equal(200);
  });

  it('serves 30 right Basic passwords sent at once (a check under way holds a place, a success gives it back)', async function () {
    const replies = await Promise.all(Array.from({ length: 30 }, () => ping('192.0.2.6', ADMIN_PW)));
    expect(statuses(replies)).to.deep.equal({ 200: 30 });
  });

  it("protects an account with its own vhost's limit when the Host header names a laxer vhost", async function () {
    const replies: Reply[] = [];
    for (let i = 0; i < 15; i++) replies.push(await wrongAuth('192.0.2.10', 'lax.localhost'));
    expect(replies.map((r) => r.status)).to.deep.equal([...Array(10).fill(401), ...Array(5).fill(429)]);
    expect(replies[10]!.body).to.equal(TOO_MANY);
  });

  it('counts an IPv4-mapped IPv6 client as its IPv4 address', async function () {
    for (let i = 0; i < 5; i++) expect((await wrongAuth('::ffff:192.0.2.20')).body).to.equal(BAD_CREDENTIALS);
    for (let i = 0; i < 5; i++) expect((await wrongAuth('192.0.2.20')).body).to.equal(BAD_CREDENTIALS);
    expect((await wrongAuth('::ffff:192.0.2.20')).status).to.equal(429);
    expect((await wrongAuth('192.0.2.20')).status).to.equal(429);
  });

  it('counts IPv6 clients per /64: ten addresses of one /64 use up its attempts, another /64 keeps its own', async function () {
    for (let i = 1; i <= 10; i++) expect((await wrongAuth(`2001:db8:1:2::${i.toString(16)}`)).status).to.equal(401);
    expect((await wrongAuth('2001:db8:1:2:ffff::99')).status).to.equal(429);
    expect((await wrongAuth('2001:db8:1:3::1')).status).to.equal(401);
  });
});

describe("an account's own vhost, c2s access and canonical senders (items 7, 11, 17)", function () {
  let sb: Sandbox | undefined;
  let carol: XmppUser | undefined;
  const send = (user: string, xml: string, host = 'localhost') =>
    post(sb!, xml, { host, headers: { Authorization: basic(user, 'acct-pw-3f'), 'Content-Type': XML } });

  before(async function () {
    sb = await startSandbox('sec-account-policy', {
      distribution: true,
      users: [['alice', 'acct-pw-3f'], ['bob', 'acct-pw-3f'], ['carol', 'acct-pw-3f'], ['mallory', 'acct-pw-3f']],
      // As Debian's stock configuration: the c2s listener applies the access rule c2s.
      c2s: { access: 'c2s' },
      config: {
        hosts: ['localhost', 'dest.localhost', 'ipbound.localhost'],
        acl: {
          admin: { user: ['admin@localhost'] },
          loopback: { ip: ['127.0.0.0/8', '::1/128'] },
          blocked: { user: ['mallory@localhost'] },
        },
        access_rules: {
          restaccess: { allow: 'admin' },
          local: { allow: 'all' },
          configure: { allow: 'admin' },
          c2s: [{ deny: 'blocked' }, { allow: 'all' }],
        },
        host_config: {
          'dest.localhost': { modules: { mod_rest: { allowed_destinations: ['bob@localhost'], allowed_stanza_types: ['message'] } } },
          'ipbound.localhost': { modules: { mod_rest: { api_allowed_ips: ['10.0.0.0/8'] } } },
        },
      },
    });
    await sb.rpc(
      '[ejabberd_auth:try_register(U, H, <<"acct-pw-3f">>) || {U, H} <- [{<<"dan">>, <<"dest.localhost">>}, {<<"eve">>, <<"ipbound.localhost">>}]].',
    );
    carol = await XmppUser.login(sb, 'carol', 'acct-pw-3f');
  });
  after(async function () {
    await carol?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it("holds an account to its own vhost's allowed_destinations whatever the Host header, and carol gets nothing", async function () {
    const text = unique('dest');
    const reply = await send('dan@dest.localhost', messageXml('carol@localhost', null, text), 'localhost');
    expect([reply.status, reply.body]).to.deep.equal([406, 'Error: REST request is rejected by service.']);
    await expectNotDelivered(carol!, (s) => bodyOf(s) === text, restSentinel(sb!, carol!));
    const allowed = await send('dan@dest.localhost', messageXml('bob@localhost', null, unique('dest')), 'localhost');
    expect(allowed.status).to.equal(202);
  });

  it("holds an account to its own vhost's allowed_stanza_types whatever the Host header", async function () {
    const reply = await send('dan@dest.localhost', '<presence to="bob@localhost"/>', 'localhost');
    expect([reply.status, reply.body]).to.deep.equal([406, 'Error: REST request is rejected by service.']);
  });

  it("holds an account to its own vhost's api_allowed_ips whatever the Host header", async function () {
    const reply = await send('eve@ipbound.localhost', messageXml('carol@localhost', null, unique('ip')), 'localhost');
    expect([reply.status, reply.body]).to.deep.equal([403, 'Error: api_allowed_ips does not admit this address.']);
  });

  it("refuses with 403 an account that ejabberd's c2s access rule blocks, and carol gets nothing", async function () {
    const login = await XmppUser.login(sb!, 'mallory', 'acct-pw-3f').then(
      async (u) => (await u.stop(), 'logged in'),
      () => 'refused',
    );
    expect(login, 'c2s refuses mallory').to.equal('refused');
    const text = unique('blocked');
    const reply = await send('mallory', messageXml('carol@localhost', null, text));
    expect([reply.status, reply.body]).to.deep.equal([403, "Error: ejabberd's c2s access rule does not allow this account."]);
    await expectNotDelivered(carol!, (s) => bodyOf(s) === text, restSentinel(sb!, carol!));
    expect((await send('alice', messageXml('carol@localhost', null, unique('ok')))).status).to.equal(202);
  });

  it('stamps the canonical sender for a Basic user spelled in full-width letters', async function () {
    const text = unique('canon');
    expect((await send('ａｌｉｃｅ', messageXml('carol@localhost', null, text))).status).to.equal(202);
    expect((await carol!.waitForBody(text)).attrs.from).to.equal('alice@localhost');
  });

  it("stamps the canonical form of a 'from' spelled otherwise (ＡＬＩＣＥ@LOCALHOST/Ｘ)", async function () {
    const text = unique('canon');
    expect((await send('alice', messageXml('carol@localhost', 'ＡＬＩＣＥ@LOCALHOST/Ｘ', text))).status).to.equal(202);
    expect((await carol!.waitForBody(text)).attrs.from).to.equal('alice@localhost/X');
  });

  it("stamps the canonical form of a legacy stanza's 'from' (LOCALHOST/Rest)", async function () {
    const text = unique('canon');
    expect((await post(sb!, messageXml('carol@localhost', 'LOCALHOST/Rest', text))).status).to.equal(200);
    expect((await carol!.waitForBody(text)).attrs.from).to.equal('localhost/Rest');
  });
});
