// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API with OAuth Bearer tokens issued by ejabberd itself (oauth_issue_token,
// the command ejabberdctl runs, here run by an admin through mod_rest): a token of the scope
// mod_rest sends as its account like Basic does; unknown, expired and other-scope tokens are
// refused exactly as a wrong password; api_access, the failure limit and commands apply.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/client';
import type { Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, expectNotDelivered, logEventually, post, sleep, startSandbox, stopSandbox, suiteFailed, unique, xmppSentinel, XmppUser, type Reply } from './support.js';

const ALICE_PW = 'Al1ce-bearer-pw-4d';
const BOB_PW = 'B0b-bearer-pw-9a';
const ADMIN_PW = 'adm1n-bearer-pw';
const XML = 'application/xmpp+xml';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string) => `Bearer ${token}`;

describe('the authenticated API: OAuth Bearer tokens of ejabberd_oauth, scope mod_rest', function () {
  let sb: Sandbox | undefined;
  let bob: XmppUser;
  let alice: XmppUser;
  const issued: string[] = [];

  /** ejabberd's own oauth_issue_token, as `ejabberdctl oauth_issue_token JID TTL SCOPES` runs it. */
  async function issue(jid: string, ttl: number, scopes: string): Promise<string> {
    const reply = await post(sb!, `oauth_issue_token ${jid} ${ttl} ${scopes}`, { headers: { Authorization: basic('admin', ADMIN_PW) } });
    // ejabberdctl prints the token, the scopes granted and its lifetime, separated by tabs
    // (the scopes as an Erlang list on 23.01: [<<"mod_rest">>]).
    const [token, scope] = reply.body.split('\t');
    if (reply.status !== 200 || !token || !scope?.includes(scopes)) throw new Error(`oauth_issue_token: ${reply.status} ${reply.body}`);
    issued.push(token);
    return token;
  }
  const send = (auth: string, body: string, opts: { path?: string; method?: string; address?: string } = {}): Promise<Reply> =>
    post(sb!, body, { ...opts, headers: { Authorization: auth, 'Content-Type': XML } });

  before(async function () {
    sb = await startSandbox('api-bearer', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
        ['admin', ADMIN_PW],
        ['carol', 'car0l-pw'],
        ['dave', 'dav3-pw'],
      ],
      httpIp: '::', // 127.0.0.1 and ::1 are two clients, each with its own failure count
      modRest: { api_access: 'rest_api', api_allowed_ips: ['127.0.0.1', '::1'] },
      config: {
        // ejabberd issues tokens only for accounts oauth_access allows (default: none).
        oauth_access: 'all',
        // A vhost where anonymous login is on besides passwords: ejabberd then accepts any
        // password for any name there, and so its password grant issues tokens for anyone.
        hosts: ['localhost', 'anon.localhost'],
        host_config: { 'anon.localhost': { auth_method: ['internal', 'anonymous'], anonymous_protocol: 'login_anon' } },
        acl: { admin: { user: ['admin@localhost'] }, carol: { user: ['carol@localhost'] } },
        access_rules: { configure: { allow: 'admin' }, rest_api: [{ deny: 'carol' }, { allow: 'all' }] },
        modules: { mod_roster: {}, mod_disco: {}, mod_version: {} },
      },
    });
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
    alice = await XmppUser.login(sb, 'alice', ALICE_PW, 'phone');
  });
  after(async function () {
    await bob?.stop();
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it("sends a message as the token's account: 202, delivered from its bare JID", async function () {
    const token = await issue('alice@localhost', 3600, 'mod_rest');
    const text = unique('bearer-msg');
    const reply = await send(bearer(token), `<message to="bob@localhost"><body>${text}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([202, '']);
    expect((await bob.waitForBody(text)).attrs.from).to.equal('alice@localhost');
  });

  it('refuses with 403 a from of another account', async function () {
    const token = await issue('alice@localhost', 3600, 'mod_rest');
    const text = unique('bearer-spoof');
    const reply = await send(bearer(token), `<message from="bob@localhost" to="alice@localhost"><body>${text}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([403, "Error: the stanza's 'from' is not the authenticated account."]);
    await expectNotDelivered(alice, (s) => bodyOf(s) === text, xmppSentinel(bob, alice));
  });

  it('answers an iq with its reply: GET /rest/version/localhost and an iq a client answers', async function () {
    const token = await issue('alice@localhost', 3600, 'mod_rest');
    const version = await post(sb!, null, { method: 'GET', path: '/rest/version/localhost', headers: { Authorization: bearer(token) } });
    expect([version.status, version.contentType]).to.deep.equal([200, XML]);
    expect(version.body).to.match(/^<iq [^>]*type='result'/);
    expect(version.body).to.include('<name>ejabberd</name>');
    expect(version.body).to.include("to='alice@localhost'");
    bob.answerIq('urn:example:bearer', 'query', (iq) => xml('query', { xmlns: 'urn:example:bearer' }, xml('asker', {}, String(iq.attrs.from))));
    const answered = await send(bearer(token), `<iq type="get" id="b1" to="${bob.jid}"><query xmlns="urn:example:bearer"/></iq>`);
    expect(answered.status).to.equal(200);
    expect(answered.body).to.include("id='b1'");
    expect(answered.body).to.include('<asker>alice@localhost</asker>');
  });

  it('refuses unknown, expired and other-scope tokens exactly as a wrong password: 401, same body and header', async function () {
    const short = await issue('alice@localhost', 1, 'mod_rest');
    const otherScope = await issue('alice@localhost', 3600, 'ejabberd:user');
    const good = await issue('alice@localhost', 3600, 'mod_rest');
    await sleep(2_100); // ejabberd_oauth counts whole seconds: a 1 s token has expired by now
    const message = () => `<message to="bob@localhost"><body>${unique('bearer-refused')}</body></message>`;
    const answers = {
      wrongPassword: await send(basic('alice', 'not-her-password'), message()),
      unknown: await send(bearer(randomBytes(24).toString('base64url')), message()),
      expired: await send(bearer(short), message()),
      otherScope: await send(bearer(otherScope), message()),
    };
    for (const [name, r] of Object.entries(answers)) {
      expect([r.status, r.body, r.headers['www-authenticate'], r.contentType], name).to.deep.equal([
        answers.wrongPassword.status,
        answers.wrongPassword.body,
        answers.wrongPassword.headers['www-authenticate'],
        answers.wrongPassword.contentType,
      ]);
    }
    expect(answers.wrongPassword.status).to.equal(401);
    // Each was refused for its own reason (the log says which; the client cannot tell).
    for (const why of ['unknown', 'expired', 'not issued for the scope mod_rest']) {
      expect(await logEventually(sb!, `Bearer token refused (${why}) from `), why).to.equal(true);
    }
    // The good token issued alongside still works: the refusals are the tokens', not the account's.
    expect((await send(bearer(good), message())).status).to.equal(202);
  });

  it("refuses the token of an account that was deleted since", async function () {
    const token = await issue('dave@localhost', 3600, 'mod_rest');
    expect((await send(bearer(token), `<message to="bob@localhost"><body>${unique('dave')}</body></message>`)).status).to.equal(202);
    const removed = await post(sb!, 'unregister dave localhost', { headers: { Authorization: basic('admin', ADMIN_PW) } });
    expect(removed.status).to.equal(200);
    const after = await send(bearer(token), `<message to="bob@localhost"><body>${unique('dave')}</body></message>`);
    expect([after.status, after.body]).to.deep.equal([401, 'Error: invalid credentials.']);
  });

  it('refuses the token of a registered account of a vhost with anonymous login, as --auth is refused there', async function () {
    const registered = await post(sb!, 'register eve anon.localhost ev3-pw', { headers: { Authorization: basic('admin', ADMIN_PW) } });
    expect(registered.status, registered.body).to.equal(200);
    const token = await issue('eve@anon.localhost', 3600, 'mod_rest');
    const reply = await send(bearer(token), `<message to="bob@localhost"><body>${unique('eve')}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([401, 'Error: invalid credentials.']);
    const withPassword = await send(basic('eve@anon.localhost', 'ev3-pw'), `<message to="bob@localhost"><body>${unique('eve')}</body></message>`);
    expect([withPassword.status, withPassword.body]).to.deep.equal([401, 'Error: invalid credentials.']);
  });

  it('answers 403 to the token of an account api_access refuses', async function () {
    const token = await issue('carol@localhost', 3600, 'mod_rest');
    const text = unique('bearer-carol');
    const reply = await send(bearer(token), `<message to="bob@localhost"><body>${text}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([403, 'Error: api_access does not allow this account.']);
    // Her password is refused the same way: the rule, not the credential, decides.
    const withPassword = await send(basic('carol', 'car0l-pw'), `<message to="bob@localhost"><body>${text}</body></message>`);
    expect([withPassword.status, withPassword.body]).to.deep.equal([403, 'Error: api_access does not allow this account.']);
    await expectNotDelivered(bob, (s) => bodyOf(s) === text, xmppSentinel(alice, bob));
  });

  it('refuses command lines sent with a token (403), even an admin\'s; a bad token there is the same 401', async function () {
    const token = await issue('admin@localhost', 3600, 'mod_rest');
    const refused = await post(sb!, 'registered_users localhost', { headers: { Authorization: bearer(token) } });
    expect([refused.status, refused.body]).to.deep.equal([403, 'Error: a Bearer token does not run commands; send Basic credentials or --auth instead.']);
    const bad = await post(sb!, 'registered_users localhost', { headers: { Authorization: bearer('not-a-token') } });
    expect([bad.status, bad.body]).to.deep.equal([401, 'Error: invalid credentials.']);
    // The same line with the admin's password runs.
    const withPassword = await post(sb!, 'registered_users localhost', { headers: { Authorization: basic('admin', ADMIN_PW) } });
    expect(withPassword.status).to.equal(200);
    expect(withPassword.body.split('\n')).to.include('alice');
  });

  it('counts bad tokens towards max_auth_failures: then 429 before any check, for this client only', async function () {
    const good = await issue('alice@localhost', 3600, 'mod_rest');
    const msg = () => `<message to="bob@localhost"><body>${unique('bearer-limit')}</body></message>`;
    for (let i = 0; i < 10; i++) {
      const r = await send(bearer(`guess-${i}-${randomBytes(8).toString('hex')}`), msg(), { address: '::1' });
      expect(r.status, `guess ${i}`).to.equal(401);
    }
    const blocked = await send(bearer(good), msg(), { address: '::1' });
    expect([blocked.status, blocked.headers['retry-after']]).to.deep.equal([429, '60']);
    // Basic from that client is blocked too: one count for every credential.
    expect((await send(basic('alice', ALICE_PW), msg(), { address: '::1' })).status).to.equal(429);
    // Another client is not.
    expect((await send(bearer(good), msg())).status).to.equal(202);
  });

  it('never writes a token to the log', async function () {
    expect(issued.length).to.be.greaterThan(5);
    expect(await logEventually(sb!, 'Bearer token refused')).to.equal(true);
    const log = sb!.log();
    for (const token of issued) expect(log.includes(token), 'a token in the log').to.equal(false);
  });
});
