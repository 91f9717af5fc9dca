// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/archive/{to}: an XEP-0313 query of ejabberd's mod_mam, as Prosody's mod_rest offers
// it. Real clients exchange messages (mod_mam archives them); the account's archive comes back
// in order, with max, with and paging; another account's archive is refused; nothing is left
// behind in the VM (the pending-query table, sessions) or delivered to the account's clients.
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { Sandbox } from '../../scripts/sandbox.js';
import { parseStanza } from '../../src/rest/stanza.js';
import type { XmlElement, XmlNode } from '../../src/rest/types.js';
import { post, sleep, startSandbox, stopSandbox, suiteFailed, unique, XmppUser, type Reply } from './support.js';

const ALICE_PW = 'Al1ce-mam-pw-3f';
const BOB_PW = 'B0b-mam-pw-8c';
const CAROL_PW = 'Car0l-mam-pw-1a';
const XML = 'application/xmpp+xml';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const attr = (el: XmlElement, name: string) => el.attrs.find(([n]) => n === name)?.[1];
const elements = (nodes: XmlNode[]): XmlElement[] => nodes.filter((n): n is XmlElement => typeof n !== 'string');
const child = (el: XmlElement | undefined, name: string): XmlElement | undefined => el && elements(el.children).find((c) => c.name === name);
const text = (el: XmlElement | undefined): string => (el ? el.children.filter((c): c is string => typeof c === 'string').join('') : '');

interface Archive {
  /** Each result: its archive id and the archived message's body and sender. */
  results: Array<{ id: string; body: string; from: string; queryid: string }>;
  /** The final iq: type, its <fin/> complete flag and RSM first/last. */
  iq: XmlElement;
  complete: boolean;
  last: string;
}

/** The answer: Prosody's shape, <xmpp> with the result messages then the iq, or the iq alone. */
function readArchive(reply: Reply): Archive {
  const root = parseStanza(Buffer.from(reply.body), 64, 100_000);
  const stanzas = root.name === 'xmpp' ? elements(root.children) : [root];
  const iq = stanzas[stanzas.length - 1]!;
  expect(iq.name).to.equal('iq');
  const results = stanzas.slice(0, -1).map((m) => {
    expect(m.name).to.equal('message');
    const result = child(m, 'result')!;
    expect(attr(result, 'xmlns')).to.equal('urn:xmpp:mam:2');
    const archived = child(child(result, 'forwarded'), 'message')!;
    return { id: attr(result, 'id')!, body: text(child(archived, 'body')), from: attr(archived, 'from')!, queryid: attr(result, 'queryid')! };
  });
  const fin = child(iq, 'fin');
  return { results, iq, complete: attr(fin!, 'complete') === 'true', last: text(child(child(fin, 'set'), 'last')) };
}

describe('the authenticated API: GET /rest/archive/{to} (XEP-0313, ejabberd mod_mam)', function () {
  let sb: Sandbox | undefined;
  let alice: XmppUser;
  let bob: XmppUser;
  let carol: XmppUser;
  const run = unique('mam');
  /** Bodies in the order they were exchanged with bob (alice's, then bob's, in turn). */
  const withBob: string[] = [];
  let withCarol = '';

  const archive = (query: string, user = 'alice', password = ALICE_PW, headers: Record<string, string> = {}): Promise<Reply> =>
    post(sb!, null, { method: 'GET', path: `/rest/archive/${query}`, headers: { Authorization: basic(user, password), ...headers } });
  const pending = async () => Number((await sb!.rpc('ets:info(mod_rest_mam, size).')).match(/(\d+)/)![1]);
  /** The account's sessions' resources, comma-separated, as erl_call prints a string: {ok,"a,b"}. */
  const resources = async (user: string) =>
    (await sb!.rpc(`lists:flatten(lists:join(",", [binary_to_list(R) || R <- ejabberd_sm:get_user_resources(<<"${user}">>, <<"localhost">>)])).`)).replace(/\s/g, '');

  before(async function () {
    sb = await startSandbox('api-archive', {
      users: [
        ['alice', ALICE_PW],
        ['bob', BOB_PW],
        ['carol', CAROL_PW],
      ],
      distribution: true,
      modRest: { iq_timeout: '5 seconds' },
      // The sandbox's default modules include mod_mam with default: always (mnesia).
    });
    alice = await XmppUser.login(sb, 'alice', ALICE_PW, 'phone');
    bob = await XmppUser.login(sb, 'bob', BOB_PW, 'desk');
    carol = await XmppUser.login(sb, 'carol', CAROL_PW, 'tab');
    // Real clients talk: five messages between alice and bob, one between alice and carol.
    for (let i = 0; i < 5; i++) {
      const [sender, receiver] = i % 2 === 0 ? [alice, bob] : [bob, alice];
      const body = `${run}-${i}`;
      withBob.push(body);
      await sender.send(xml('message', { to: receiver.bareJid, type: 'chat', id: `m${i}` }, xml('body', {}, body)));
      await receiver.waitForBody(body);
      if (i === 2) {
        withCarol = `${run}-carol`;
        await alice.send(xml('message', { to: carol.bareJid, type: 'chat' }, xml('body', {}, withCarol)));
        await carol.waitForBody(withCarol);
      }
    }
  });
  after(async function () {
    await Promise.all([alice?.stop(), bob?.stop(), carol?.stop()]);
    await stopSandbox(sb, suiteFailed(this));
  });

  it("answers the account's whole archive in order, as <xmpp> with the results then the iq result", async function () {
    const reply = await archive('alice@localhost');
    expect([reply.status, reply.contentType]).to.deep.equal([200, XML]);
    const got = readArchive(reply);
    expect(got.results.map((r) => r.body)).to.deep.equal([...withBob.slice(0, 3), withCarol, ...withBob.slice(3)]);
    expect(got.results.map((r) => r.from.split('/')[0])).to.deep.equal(['alice@localhost', 'bob@localhost', 'alice@localhost', 'alice@localhost', 'bob@localhost', 'alice@localhost']);
    expect(attr(got.iq, 'type')).to.equal('result');
    expect(got.complete).to.equal(true);
    expect(new Set(got.results.map((r) => r.queryid)).size, 'one queryid').to.equal(1);
  });

  it('filters by with, and pages with max, after and before', async function () {
    const withB = readArchive(await archive('alice@localhost?with=bob%40localhost'));
    expect(withB.results.map((r) => r.body)).to.deep.equal(withBob);

    const first = readArchive(await archive('alice@localhost?with=bob@localhost&max=2'));
    expect(first.results.map((r) => r.body)).to.deep.equal(withBob.slice(0, 2));
    expect(first.complete).to.equal(false);
    expect(first.last).to.equal(first.results[1]!.id);
    const second = readArchive(await archive(`alice@localhost?with=bob@localhost&max=2&after=${encodeURIComponent(first.last)}`));
    expect(second.results.map((r) => r.body)).to.deep.equal(withBob.slice(2, 4));
    const third = readArchive(await archive(`alice@localhost?with=bob@localhost&max=2&after=${encodeURIComponent(second.last)}`));
    expect(third.results.map((r) => r.body)).to.deep.equal(withBob.slice(4));
    expect(third.complete).to.equal(true);
    // An empty before: the last page.
    const lastPage = readArchive(await archive('alice@localhost?with=bob@localhost&max=2&before='));
    expect(lastPage.results.map((r) => r.body)).to.deep.equal(withBob.slice(3));
  });

  it('answers the iq result alone when nothing matches, and 400 for a max that is not a number', async function () {
    const none = await archive('alice@localhost?with=nobody@localhost');
    expect(none.status).to.equal(200);
    expect(none.body).to.match(/^<iq /);
    expect(readArchive(none).results).to.have.length(0);
    const bad = await archive('alice@localhost?max=ten');
    expect([bad.status, bad.body]).to.deep.equal([400, "Error: the archive query's max is not a whole number."]);
  });

  it("refuses another account's archive (403): ejabberd would answer with the caller's own", async function () {
    const reply = await archive('bob@localhost', 'carol', CAROL_PW);
    expect([reply.status, reply.body]).to.deep.equal([403, 'Error: an account may only query its own archive.']);
    // Bob reads his own, which carol's message to alice is not in.
    const own = readArchive(await archive('bob@localhost', 'bob', BOB_PW));
    expect(own.results.map((r) => r.body)).to.deep.equal(withBob);
  });

  it('answers 504 when the queried entity never answers, and leaves nothing pending', async function () {
    alice.answerIq('urn:xmpp:mam:2', 'query', null, 'set'); // alice's client swallows MAM queries to it
    const started = Date.now();
    // A full JID: the rest of the path is its resource.
    const reply = await archive('alice@localhost/phone', 'alice', ALICE_PW, { 'Prosody-Rest-Timeout': '1' });
    expect([reply.status, reply.body]).to.deep.equal([504, 'Error: no answer to the iq in time.']);
    expect(Date.now() - started).to.be.within(900, 4_000);
    expect(await pending()).to.equal(0);
  });

  it("leaves nothing behind: no pending query, no session, nothing delivered to the account's clients", async function () {
    await Promise.all([archive('alice@localhost'), archive('alice@localhost?max=1'), archive('bob@localhost', 'bob', BOB_PW)]);
    expect(await pending()).to.equal(0);
    expect(await resources('alice')).to.equal('{ok,"phone"}');
    expect(await resources('bob')).to.equal('{ok,"desk"}');
    await sleep(300);
    const mam = (u: XmppUser) => u.received((s) => s.getChild('result', 'urn:xmpp:mam:2') !== undefined);
    expect(mam(alice), "MAM results at alice's client").to.have.length(0);
    expect(mam(bob), "MAM results at bob's client").to.have.length(0);
  });
});
