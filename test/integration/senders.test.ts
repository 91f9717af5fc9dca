// SPDX-License-Identifier: GPL-2.0-or-later
// Who a stanza posted without credentials may claim to be (allowed_senders), against a real
// ejabberd: the attack of the security issue (an unauthenticated iq `from` a user changes that
// user's password) is refused by default, and works exactly when an operator opens it.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { bodyOf, expectNotDelivered, messageXml, post, restSentinel, startSandbox, stopSandbox, suiteFailed, unique, XmppUser } from './support.js';

const NOT_A_SENDER = "Error: the stanza's 'from' is not in allowed_senders.";
const REJECTED = 'Error: REST request is rejected by service.';
const USERS: Array<[string, string]> = [
  ['alice', 'alice-pw'],
  ['bob', 'bob-pw'],
  ['admin', 'admin-pw'],
];
// mod_register changes the password of the account an iq:register set comes `from`.
const MODULES = { mod_roster: {}, mod_disco: {}, mod_register: {} };

/** jabber:iq:register, as a client changes its own password (XEP-0077 §3.3). */
function changePasswordIq(user: string, newPassword: string): string {
  return (
    `<iq type="set" id="${unique('pw')}" to="localhost" from="${user}@localhost/x">` +
    `<query xmlns="jabber:iq:register"><username>${user}</username><password>${newPassword}</password></query></iq>`
  );
}

/** Whether `user` can log in with `password`, tried with a real XMPP client. */
async function canLogIn(sb: Sandbox, user: string, password: string): Promise<boolean> {
  try {
    const session = await XmppUser.login(sb, user, password, unique('check'));
    await session.stop();
    return true;
  } catch {
    return false;
  }
}

describe('allowed_senders by default: the vhost alone', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  before(async function () {
    sb = await startSandbox('senders-default', {
      users: USERS,
      config: { modules: MODULES },
      modRest: { allowed_destinations: ['alice@localhost', 'localhost'] },
    });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });
  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it("refuses with 403 an iq:register set from a user, and the user's password is unchanged", async function () {
    const reply = await post(sb!, changePasswordIq('bob', 'pwned-by-rest'));
    expect([reply.status, reply.body]).to.deep.equal([403, NOT_A_SENDER]);
    expect(await canLogIn(sb!, 'bob', 'bob-pw'), 'bob logs in with his own password').to.equal(true);
    expect(await canLogIn(sb!, 'bob', 'pwned-by-rest'), 'bob logs in with the attacker password').to.equal(false);
  });

  it('refuses an admin full JID and every other user, and routes what the vhost sends', async function () {
    for (const from of ['admin@localhost/x', 'admin@localhost', 'alice@localhost', 'ADMIN@LOCALHOST/y']) {
      const reply = await post(sb!, messageXml('alice@localhost', from, 'x'));
      expect([reply.status, reply.body], from).to.deep.equal([403, NOT_A_SENDER]);
    }
    for (const from of ['localhost', 'localhost/rest', 'LocalHost/other']) {
      const text = unique('vhost');
      const reply = await post(sb!, messageXml('alice@localhost', from, text));
      expect([reply.status, reply.body], from).to.deep.equal([200, 'Ok']);
      await alice.waitForBody(text);
    }
  });

  it('keeps a trailing dot, as ejabberd routes it: localhost. is neither an allowed destination nor the vhost', async function () {
    const toDot = unique('to-dot');
    const reply = await post(sb!, messageXml('alice@localhost.', 'localhost/rest', toDot));
    expect([reply.status, reply.body]).to.deep.equal([406, REJECTED]);
    const fromDot = await post(sb!, messageXml('alice@localhost', 'localhost./rest', unique('from-dot')));
    expect([fromDot.status, fromDot.body]).to.deep.equal([403, NOT_A_SENDER]);
    await expectNotDelivered(alice, (s) => (bodyOf(s) ?? '').includes(toDot), restSentinel(sb!, alice));
  });
});

describe('allowed_senders: all (the original behaviour, documented as impersonation)', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('senders-all', { users: USERS, config: { modules: MODULES }, modRest: { allowed_senders: 'all' } });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it("lets any caller change a user's password: what the default prevents", async function () {
    const reply = await post(sb!, changePasswordIq('bob', 'pwned-by-rest'));
    expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
    let changed = false;
    for (let i = 0; i < 20 && !changed; i++) changed = await canLogIn(sb!, 'bob', 'pwned-by-rest');
    expect(changed, 'the password was changed by an unauthenticated POST').to.equal(true);
  });
});

describe('allowed_senders listing a user', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  before(async function () {
    sb = await startSandbox('senders-listed', { users: USERS, modRest: { allowed_senders: ['localhost', 'Bob@LocalHost'] } });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'desk');
  });
  after(async function () {
    await alice?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  it("delivers a message in that user's name, with the full JID it claimed", async function () {
    const text = unique('from-bob');
    const reply = await post(sb!, messageXml('alice@localhost', 'bob@localhost/x', text));
    expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
    expect((await alice.waitForBody(text)).attrs.from).to.equal('bob@localhost/x');
  });

  it('still refuses the users it does not list', async function () {
    const reply = await post(sb!, messageXml('alice@localhost', 'admin@localhost/x', unique('from-admin')));
    expect([reply.status, reply.body]).to.deep.equal([403, NOT_A_SENDER]);
  });
});
