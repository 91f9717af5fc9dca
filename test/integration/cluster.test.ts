// SPDX-License-Identifier: GPL-2.0-or-later
// A two-node ejabberd cluster on loopback, as operators run one: both nodes with the same
// configuration but their ports, Erlang distribution on 127.0.0.1 through an epmd of the test's
// own on a test port, a cookie of the test's own, Mnesia joined with join_cluster. Proves that a
// stanza posted to one node reaches a client on the other, an iq's reply comes back across, that
// commands see the whole cluster from either node, that each node runs its own worker, that one
// node's worker or the whole node dying leaves the other serving, and that a node restarted after
// a crash, or one that left and joined again, serves again; and that an Idempotency-Key is one key
// cluster-wide (a retry on the other node is replayed or 409, a dead node's claim is taken over).
// Bounded: about a minute.
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import { target, type Sandbox } from '../../scripts/sandbox';
import { CLUSTER_TIMEOUT_MS, TestCluster, until } from './cluster-support';
import { rawPost, writeAndCut } from './raw-http';
import { bodyOf, messageXml, post, sleep, unique, XmppUser, type Reply } from './support';

const USERS: Array<[string, string]> = [['admin', 'admin-pw'], ['alice', 'alice-pw'], ['bob', 'bob-pw']];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}@localhost:${password}`).toString('base64')}`;

describe('a two-node cluster', function () {
  this.timeout(CLUSTER_TIMEOUT_MS * 2);
  const cluster = new TestCluster({ users: USERS });
  const names = { a: cluster.nodeName('a'), b: cluster.nodeName('b') };
  let a: Sandbox;
  let b: Sandbox;
  const clients: XmppUser[] = [];
  const node = (name: string, previous?: Sandbox) => cluster.node(name, previous);
  const join = (joiner: Sandbox, to: Sandbox) => cluster.join(joiner, to);

  async function login(sb: Sandbox, user: string, resource = 'test'): Promise<XmppUser> {
    const password = USERS.find(([u]) => u === user)![1];
    const client = await XmppUser.login(sb, user, password, resource);
    clients.push(client);
    return client;
  }

  /** Stops the clients logged in on a node that is going away: xmpp.js would reconnect them to its successor. */
  async function forget(...gone: XmppUser[]): Promise<void> {
    await Promise.all(gone.map((c) => c.stop()));
    for (const c of gone) clients.splice(clients.indexOf(c), 1);
  }

  /** POSTs a message to `to` through `via` and waits for it at `client`. */
  async function deliver(via: Sandbox, client: XmppUser): Promise<void> {
    const text = unique('cluster');
    const reply = await post(via, messageXml(client.bareJid, 'localhost/rest', text));
    expect([reply.status, reply.body]).to.deep.equal([200, 'Ok']);
    expect(bodyOf(await client.waitForBody(text))).to.equal(text);
  }

  const command = (sb: Sandbox, line: string): Promise<Reply> => post(sb, `--auth admin localhost admin-pw ${line}`);
  const workerOsPid = async (sb: Sandbox) =>
    Number((await sb.rpc('[{port, P, _}] = ets:lookup(mod_rest_port, port), {os_pid, O} = erlang:port_info(P, os_pid), O.')).replace(/^\{ok, (\d+)\}$/, '$1'));

  before(async function () {
    await cluster.start();
    [a, b] = await Promise.all([node(names.a), node(names.b)]);
  });

  after(async function () {
    await Promise.all(clients.map((c) => c.stop()));
    await cluster.stop(this.test?.parent?.tests.some((t) => t.state === 'failed') ?? false);
  });

  it(`joins with join_cluster (ejabberd ${target.ejabberdVersion}), each node running its own worker`, async () => {
    await join(b, a);
    const [pa, pb] = [a.workerPids(), b.workerPids()];
    expect([pa.length, pb.length], 'one worker a node').to.deep.equal([1, 1]);
    expect(await workerOsPid(a)).to.equal(pa[0]);
    expect(await workerOsPid(b)).to.equal(pb[0]);
    for (const sb of [a, b]) expect((await post(sb, null, { method: 'GET', path: '/rest/health' })).status).to.equal(200);
  });

  it('delivers a stanza posted to node A to a client on node B, and the reverse', async () => {
    const [alice, bob] = await Promise.all([login(b, 'alice'), login(a, 'bob')]);
    await deliver(a, alice);
    await deliver(b, bob);
  });

  it('brings back the reply to an iq posted to one node and answered by a client on the other', async () => {
    const [alice, bob] = [clients.find((c) => c.bareJid.startsWith('alice'))!, clients.find((c) => c.bareJid.startsWith('bob'))!];
    alice.answerIq('urn:example:echo', 'query', () => xml('query', { xmlns: 'urn:example:echo' }, xml('said', {}, 'alice on B')));
    bob.answerIq('urn:example:echo', 'query', () => xml('query', { xmlns: 'urn:example:echo' }, xml('said', {}, 'bob on A')));
    const ask = (via: Sandbox, who: string, password: string, to: XmppUser) =>
      post(via, `<iq type="get" id="x1" to="${to.jid}"><query xmlns="urn:example:echo"/></iq>`, {
        headers: { Authorization: basic(who, password), 'Content-Type': 'application/xmpp+xml' },
      });
    const viaA = await ask(a, 'bob', 'bob-pw', alice);
    expect(viaA.status, viaA.body).to.equal(200);
    expect(viaA.body).to.include('alice on B');
    const viaB = await ask(b, 'alice', 'alice-pw', bob);
    expect(viaB.status, viaB.body).to.equal(200);
    expect(viaB.body).to.include('bob on A');
  });

  it('carries out once a keyed request whose connection was cut, retried on the same node and on the other (Idempotency-Key)', async () => {
    const alice = clients.find((c) => c.bareJid.startsWith('alice'))!;
    const text = unique('cluster-idem');
    const key = unique('key');
    const body = messageXml(alice.bareJid, 'localhost/rest', text);
    await writeAndCut(a, rawPost(a, body, { 'Content-Type': 'text/plain', 'Idempotency-Key': `"${key}"` }));
    const delivered = await alice.waitForBody(text);
    const retry = async (via: Sandbox): Promise<Reply> => {
      for (let i = 0; ; i++) {
        const reply = await post(via, body, { headers: { 'Idempotency-Key': `"${key}"` } });
        if (reply.status !== 409 || i >= 25) return reply;
        await sleep(200);
      }
    };
    for (const via of [a, b]) {
      const reply = await retry(via);
      expect([reply.status, reply.body, reply.headers['idempotent-replayed']], via.nodeName).to.deep.equal([200, 'Ok', 'true']);
      expect(reply.headers['x-stanza-id']).to.equal(delivered.attrs.id);
    }
    await sleep(500);
    expect(alice.received((s) => bodyOf(s) === text)).to.have.length(1);
    // ejabberd's own storage: one Mnesia table, a ram copy on each node.
    for (const sb of [a, b]) expect(await sb.rpc('lists:sort(mnesia:table_info(mod_rest_idempotency, ram_copies)).')).to.include(names.a).and.to.include(names.b);
  });

  it('answers 409 on one node while the other carries out the same key, then replays its answer there', async () => {
    const alice = clients.find((c) => c.bareJid.startsWith('alice'))!;
    let asked = 0;
    alice.answerIq('urn:example:slow', 'query', (() => {
      asked++;
      return new Promise((resolve) => setTimeout(() => resolve(xml('query', { xmlns: 'urn:example:slow' })), 1_000));
    }) as never);
    const key = unique('key');
    const ask = (via: Sandbox) =>
      post(via, `<iq type="get" id="s1" to="${alice.jid}"><query xmlns="urn:example:slow"/></iq>`, {
        headers: { Authorization: basic('bob', 'bob-pw'), 'Content-Type': 'application/xmpp+xml', 'Idempotency-Key': key },
      });
    const first = ask(a);
    await sleep(300);
    const meanwhile = await ask(b);
    expect([meanwhile.status, meanwhile.headers['retry-after']]).to.deep.equal([409, '1']);
    const done = await first;
    expect(done.status, done.body).to.equal(200);
    const replay = await ask(b);
    expect([replay.status, replay.body, replay.headers['idempotent-replayed']]).to.deep.equal([200, done.body, 'true']);
    expect(asked, 'iqs that reached the client').to.equal(1);
  });

  it('runs commands that act cluster-wide from either node', async () => {
    expect((await command(b, 'register carol localhost carol-pw')).status).to.equal(200);
    for (const sb of [a, b]) {
      const users = await command(sb, 'registered_users localhost');
      expect(users.status).to.equal(200);
      expect(users.body.split('\n')).to.include.members(['admin', 'alice', 'bob', 'carol']);
      // Sessions of both nodes: alice on B, bob on A.
      const sessions = await command(sb, 'connected_users');
      expect(sessions.body).to.include('alice@localhost/test').and.to.include('bob@localhost/test');
    }
    expect((await command(a, 'unregister carol localhost')).status).to.equal(200);
    expect((await command(b, 'registered_users localhost')).body.split('\n')).to.not.include('carol');
  });

  it("keeps the other node serving while one node's worker is killed", async () => {
    const alice = clients.find((c) => c.bareJid.startsWith('alice'))!;
    const bob = clients.find((c) => c.bareJid.startsWith('bob'))!;
    const [worker] = a.workerPids();
    process.kill(worker!, 'SIGKILL');
    await deliver(b, bob); // B serves at once, to a client on A
    await until("A's worker replaced", async () => (await post(a, null, { method: 'GET', path: '/rest/health' })).status === 200, 10_000);
    expect(a.workerPids()).to.not.include(worker);
    expect(b.workerPids()).to.have.length(1);
    await deliver(a, alice);
  });

  it('keeps node A serving while node B is killed (a key B was carrying out is taken over by A), and serves on B again once it restarts', async () => {
    const bob = clients.find((c) => c.bareJid.startsWith('bob'))!;
    const killed = b;
    const bWorker = killed.workerPids()[0]!;
    // A keyed iq in flight on B when B dies: its key must not stay claimed by the dead node.
    bob.answerIq('urn:example:stuck', 'query', (() => new Promise(() => undefined)) as never);
    const key = unique('key');
    const stuck = (via: Sandbox, seconds: number) =>
      post(via, `<iq type="get" id="k1" to="${bob.jid}"><query xmlns="urn:example:stuck"/></iq>`, {
        headers: { Authorization: basic('alice', 'alice-pw'), 'Content-Type': 'application/xmpp+xml', 'Idempotency-Key': key, 'Prosody-Rest-Timeout': String(seconds) },
      });
    void stuck(killed, 30).catch(() => undefined);
    await sleep(500);
    expect((await stuck(a, 1)).status, 'the key claimed on B').to.equal(409);
    process.kill(killed.pid!, 'SIGKILL');
    await killed.stop();
    await forget(clients.find((c) => c.bareJid.startsWith('alice'))!);
    await deliver(a, bob);
    await until('the key taken over on A (an iq timeout, not 409)', async () => (await stuck(a, 1)).status === 504, 10_000);
    expect((await post(a, null, { method: 'GET', path: '/rest/health' })).status).to.equal(200);
    await until("B's worker gone with its node", async () => !killed.workerPids().includes(bWorker), 5_000);
    // Restarted in place, as systemd would: Mnesia finds node A again by itself.
    b = await node(names.b, killed);
    await until('B back in the cluster', async () => (await a.rpc('ejabberd_cluster:get_nodes().')).includes(names.b));
    // A resource of its own: the session of the killed node may still be listed for a moment.
    const alice = await login(b, 'alice', 'restarted');
    await deliver(a, alice);
    await deliver(b, bob);
  });

  it('serves on a node that left the cluster and joined it again', async () => {
    const left = b;
    await forget(clients.find((c) => c.bareJid.startsWith('alice'))!);
    // leave_cluster stops ejabberd on the leaving node and halts its VM.
    const out = await a.rpc(`ejabberd_admin:leave_cluster(<<"${names.b}">>).`);
    expect(out).to.match(/^\{ok, /);
    await until('B halted', async () => !left.running);
    await left.stop();
    expect(await a.rpc('ejabberd_cluster:get_nodes().')).to.not.include(names.b);
    const bob = clients.find((c) => c.bareJid.startsWith('bob'))!;
    await deliver(a, bob);
    // A fresh node under the same name, joined again.
    b = await node(names.b);
    await join(b, a);
    const alice = await login(b, 'alice', 'rejoined');
    await deliver(a, alice);
    await deliver(b, bob);
  });
});
