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
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xml } from '@xmpp/client';
import { freePort, Sandbox, target } from '../../scripts/sandbox';
import { rawPost, writeAndCut } from './raw-http';
import { bodyOf, messageXml, post, sleep, unique, XmppUser, type Reply } from './support';

const USERS: Array<[string, string]> = [['admin', 'admin-pw'], ['alice', 'alice-pw'], ['bob', 'bob-pw']];
/** How long a join or a restart may take before the suite gives up. */
const CLUSTER_TIMEOUT_MS = 40_000;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}@localhost:${password}`).toString('base64')}`;

async function until(what: string, check: () => Promise<boolean>, ms = CLUSTER_TIMEOUT_MS): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet (a node restarting answers nothing)
    }
    if (Date.now() >= end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

describe('a two-node cluster', function () {
  this.timeout(CLUSTER_TIMEOUT_MS * 2);
  const run = `${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const cookie = `cluster-${Math.random().toString(36).slice(2)}`;
  const names = { a: `mod_rest_a_${run}@localhost`, b: `mod_rest_b_${run}@localhost` };
  const dirs: string[] = [];
  let epmd: ChildProcess | undefined;
  let epmdPort = 0;
  let a: Sandbox;
  let b: Sandbox;
  const clients: XmppUser[] = [];

  /** A node of the cluster: the same config as the other, but its own ports and directory. */
  async function node(name: string, dir?: string): Promise<Sandbox> {
    const reuse = dir !== undefined;
    const d = dir ?? mkdtempSync(path.join(os.tmpdir(), 'mod_rest-it-cluster-'));
    if (!reuse) dirs.push(d);
    const prev = reuse ? [a, b].find((s) => s?.options.dir === d) : undefined;
    const sb = new Sandbox({
      dir: d,
      c2sPort: prev?.options.c2sPort ?? (await freePort()),
      httpPort: prev?.options.httpPort ?? (await freePort()),
      users: USERS,
      cluster: { epmdPort, nodeName: name, cookie },
      reuseDir: reuse,
    });
    await sb.start();
    return sb;
  }

  /** Joins `joiner` to `to`'s cluster (join_cluster; from 24.06 it acts a second later) and waits until it serves again. */
  async function join(joiner: Sandbox, to: Sandbox): Promise<void> {
    const out = await joiner.rpc(`ejabberd_admin:join_cluster(<<"${to.nodeName}">>).`);
    expect(out, 'join_cluster').to.match(/^\{ok, ?(ok|\{ok,)/);
    await until('both nodes list each other', async () => {
      const [x, y] = await Promise.all([to.rpc('lists:sort(ejabberd_cluster:get_nodes()).'), joiner.rpc('lists:sort(ejabberd_cluster:get_nodes()).')]);
      return x.includes(joiner.nodeName) && y.includes(to.nodeName);
    });
    await joiner.waitUntilServing(CLUSTER_TIMEOUT_MS);
    await until('the joined node has the accounts', async () => (await joiner.rpc('ejabberd_auth:user_exists(<<"alice">>, <<"localhost">>).')) === '{ok, true}');
  }

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
    epmdPort = await freePort();
    epmd = target.spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore', env: {} });
    await sleep(200);
    [a, b] = await Promise.all([node(names.a), node(names.b)]);
  });

  after(async function () {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all([a?.stop(), b?.stop()]);
    epmd?.kill('SIGTERM');
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    if (!failed && !process.env.KEEP_SANDBOXES) for (const d of dirs) rmSync(d, { recursive: true, force: true });
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
    b = await node(names.b, killed.options.dir);
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
