// SPDX-License-Identifier: GPL-2.0-or-later
// allowed_destinations, allowed_stanza_types and allowed_ips against a real ejabberd.
import { expect } from 'chai';
import { createServer } from 'node:net';
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
  xmppSentinel,
  XmppUser,
} from './support.js';

const REJECTED = 'Error: REST request is rejected by service.';

describe('mod_rest allowed_destinations and allowed_stanza_types', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser | undefined;
  let bob: XmppUser | undefined;

  before(async function () {
    sb = await startSandbox('policy', {
      modRest: { allowed_destinations: ['alice@localhost'], allowed_stanza_types: ['message'] },
      users: [
        ['alice', 'alice-pw'],
        ['bob', 'bob-pw'],
      ],
    });
    alice = await XmppUser.login(sb, 'alice', 'alice-pw', 'phone');
    bob = await XmppUser.login(sb, 'bob', 'bob-pw', 'laptop');
  });

  after(async function () {
    await alice?.stop();
    await bob?.stop();
    await stopSandbox(sb, suiteFailed(this));
  });

  for (const to of ['alice@localhost', 'Alice@LOCALHOST/anyresource']) {
    it(`delivers a message to the allowed ${to}`, async function () {
      const text = unique('allowed');
      const reply = await post(sb!, messageXml(to, 'localhost/rest', text));
      expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
      await alice!.waitForBody(text);
    });
  }

  it('refuses with 406 a message to a JID that is not allowed, and bob never gets it', async function () {
    const text = unique('to-bob');
    for (const to of ['bob@localhost', 'bob@localhost/laptop']) {
      const reply = await post(sb!, messageXml(to, 'localhost/rest', text));
      expect([reply.status, reply.body], to).to.deep.equal([406, REJECTED]);
    }
    await expectNotDelivered(bob!, (s) => bodyOf(s) === text, xmppSentinel(alice!, bob!));
  });

  it("refuses with 406 a message without 'to' when destinations are restricted", async function () {
    const reply = await post(sb!, `<message from="localhost/rest"><body>${unique('no-to')}</body></message>`);
    expect([reply.status, reply.body]).to.deep.equal([406, REJECTED]);
  });

  it('refuses with 406 a presence or an iq to an allowed JID when only messages are allowed', async function () {
    const id = unique('iq');
    const bodies = [
      `<presence to="alice@localhost" from="localhost/rest" id="${id}-p"/>`,
      `<iq type="get" id="${id}" to="alice@localhost/phone" from="localhost/rest"><query xmlns="jabber:iq:version"/></iq>`,
    ];
    for (const body of bodies) {
      const reply = await post(sb!, body);
      expect([reply.status, reply.body], body).to.deep.equal([406, REJECTED]);
    }
    await expectNotDelivered(alice!, (s) => (s.attrs.id ?? '').startsWith(id), restSentinel(sb!, alice!));
  });
});

describe('mod_rest allowed_ips', function () {
  describe('with allowed_ips 10.0.0.0/8', function () {
    let sb: Sandbox | undefined;
    before(async function () {
      sb = await startSandbox('ips', { modRest: { allowed_ips: ['10.0.0.0/8'], access_commands: 'open' }, users: [['alice', 'alice-pw']] });
    });
    after(async function () {
      await stopSandbox(sb, suiteFailed(this));
    });

    it('refuses stanzas and commands from 127.0.0.1 with 406 and does not run them', async function () {
      const stanza = await post(sb!, messageXml('alice@localhost', 'localhost/rest', unique('ip')));
      expect([stanza.status, stanza.body]).to.deep.equal([406, REJECTED]);
      const command = await post(sb!, 'register eve localhost eve-pw');
      expect([command.status, command.body]).to.deep.equal([406, REJECTED]);
      let outcome = 'logged in';
      try {
        const eve = await XmppUser.login(sb!, 'eve', 'eve-pw');
        await eve.stop();
      } catch (err) {
        outcome = String(err);
      }
      // eve@localhost does not exist: the refused register did not run.
      expect(outcome).to.match(/not-authorized/);
    });
  });

  describe('on a dual-stack listener (::)', function () {
    let ipv6 = false;
    before(async function () {
      ipv6 = await canListen('::1');
    });

    const cases: Array<{ allowed: string; accepts: string; refuses: string }> = [
      { allowed: '127.0.0.1', accepts: '127.0.0.1', refuses: '::1' },
      { allowed: '::1', accepts: '::1', refuses: '127.0.0.1' },
      // CIDR entries: IPv4, IPv6, and IPv4-mapped IPv6.
      { allowed: '127.0.0.0/8', accepts: '127.0.0.1', refuses: '::1' },
      { allowed: '::/127', accepts: '::1', refuses: '127.0.0.1' },
      { allowed: '::ffff:127.0.0.0/104', accepts: '127.0.0.1', refuses: '::1' },
    ];
    for (const { allowed, accepts, refuses } of cases) {
      describe(`with allowed_ips ${allowed}`, function () {
        let sb: Sandbox | undefined;
        before(async function () {
          if (!ipv6) this.skip(); // IPv6 loopback (::1) is not available on this machine
          sb = await startSandbox('ips6', { httpIp: '::', modRest: { allowed_ips: [allowed], access_commands: 'open' } });
        });
        after(async function () {
          await stopSandbox(sb, suiteFailed(this));
        });

        const peers = (addr: string): string[] => (addr === '127.0.0.1' ? ['127.0.0.1', '::ffff:127.0.0.1'] : [addr]);
        for (const address of peers(accepts)) {
          it(`accepts a client that connects to ${address}`, async function () {
            const reply = await post(sb!, 'connected_users_number', { address });
            expect([reply.status, reply.body]).to.deep.equal([200, '0']);
          });
        }
        for (const address of peers(refuses)) {
          it(`refuses with 406 a client that connects to ${address}`, async function () {
            const reply = await post(sb!, 'connected_users_number', { address });
            expect([reply.status, reply.body]).to.deep.equal([406, REJECTED]);
          });
        }
      });
    }
  });
});

/** True when this machine can listen on `address` (e.g. ::1 when IPv6 is disabled cannot). */
function canListen(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}
