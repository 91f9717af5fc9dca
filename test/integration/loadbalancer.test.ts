// SPDX-License-Identifier: GPL-2.0-or-later
// The load balancer the operations documentation describes, run for real: Debian's haproxy with
// docs/examples/haproxy.cfg (only its addresses and ports replaced) in front of a two-node
// cluster, health-checking /rest/health. Under a steady load of legacy POSTs, node B is killed
// (SIGKILL) and later restarted in place: every request gets an HTTP answer (a 200, except a
// request that was inside B when it died, which haproxy answers 502 and never replays), B leaves
// and rejoins the pool within the times the configuration documents, and a real XMPP client
// receives each answered message exactly once, and nothing twice. Bounded: about a minute.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT, type Sandbox } from '../../scripts/sandbox';
import { CLUSTER_TIMEOUT_MS, TestCluster, until } from './cluster-support';
import { ensureDebianTool } from './debian';
import { bodyOf, messageXml, sleep, XmppUser } from './support';

const USERS: Array<[string, string]> = [['admin', 'admin-pw'], ['alice', 'alice-pw'], ['bob', 'bob-pw']];
const CONFIG = path.join(ROOT, 'docs', 'examples', 'haproxy.cfg');
/** The documented times (docs/examples/haproxy.cfg): a node that refuses connections leaves within 2 s ... */
const LEAVES_WITHIN_MS = 2000;
/** ... and is back within 1.5 s of its /rest/health answering 200. */
const REJOINS_WITHIN_MS = 1500;
/** How often the test looks at haproxy's pool and at B's health: the measurements' resolution. */
const POLL_MS = 100;
/** The steady load: this many clients, each posting a message, then pausing this long. */
const CLIENTS = 4;
const PAUSE_MS = 20;

interface Sent {
  seq: number;
  status: number | 'no answer';
  start: number;
  end: number;
  error?: string;
}

/** The servers of a backend as haproxy's stats CSV (/stats;csv) shows them: status (UP, DOWN, ...) and sessions so far. */
async function pool(statsPort: number): Promise<Map<string, { status: string; sessions: number }>> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`, { signal: AbortSignal.timeout(2000) })).text();
  const [head, ...rows] = csv.trim().split('\n');
  const columns = head!.replace(/^# /, '').split(',');
  const col = (row: string[], name: string) => row[columns.indexOf(name)]!;
  const servers = new Map<string, { status: string; sessions: number }>();
  for (const row of rows.map((r) => r.split(','))) {
    if (col(row, 'pxname') === 'mod_rest' && !['FRONTEND', 'BACKEND'].includes(col(row, 'svname'))) {
      servers.set(col(row, 'svname'), { status: col(row, 'status'), sessions: Number(col(row, 'stot')) });
    }
  }
  return servers;
}

describe('haproxy (docs/examples/haproxy.cfg) in front of a two-node cluster', function () {
  this.timeout(CLUSTER_TIMEOUT_MS * 3);
  // haproxy adds X-Forwarded-For (option forwardfor): ejabberd takes it from haproxy's address only.
  const cluster = new TestCluster({ users: USERS, config: { trusted_proxies: ['127.0.0.1'] } });
  let a: Sandbox;
  let b: Sandbox;
  let bob: XmppUser;
  let haproxy: ChildProcess | undefined;
  let dir = '';
  let lbPort = 0;
  let statsPort = 0;

  before(async function () {
    ensureDebianTool('haproxy');
    await cluster.start();
    [a, b] = await Promise.all([cluster.node(cluster.nodeName('a')), cluster.node(cluster.nodeName('b'))]);
    await cluster.join(b, a);
    bob = await XmppUser.login(a, 'bob', 'bob-pw', 'counter');

    // The documented configuration, with only its addresses and ports replaced.
    [lbPort, statsPort] = [await freePort(), await freePort()];
    let config = readFileSync(CONFIG, 'utf8');
    for (const [from, to] of [
      ['127.0.0.1:8080', `127.0.0.1:${lbPort}`],
      ['127.0.0.1:8404', `127.0.0.1:${statsPort}`],
      ['10.0.0.1:5285', `127.0.0.1:${a.options.httpPort}`],
      ['10.0.0.2:5285', `127.0.0.1:${b.options.httpPort}`],
    ] as const) {
      expect(config.split(from), `${from} once in ${CONFIG}`).to.have.length(2);
      config = config.replace(from, to);
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-it-haproxy-'));
    writeFileSync(path.join(dir, 'haproxy.cfg'), config);
    const out = openSync(path.join(dir, 'haproxy.out'), 'a');
    haproxy = spawn('haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', out, out] });
    await until('haproxy sees both nodes UP', async () => [...(await pool(statsPort)).values()].filter((s) => s.status === 'UP').length === 2, 10_000);
  });

  after(async function () {
    haproxy?.kill('SIGTERM');
    await bob?.stop();
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed') ?? false;
    await cluster.stop(failed);
    if (!failed && !process.env.KEEP_SANDBOXES) rmSync(dir, { recursive: true, force: true });
  });

  it('answers every request while a node is killed and restarted; the node leaves and rejoins in the documented times; no message is routed twice', async () => {
    // B's transitions in haproxy's pool, as seen every POLL_MS.
    const transitions: Array<{ status: string; at: number }> = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const node2 = (await pool(statsPort).catch(() => undefined))?.get('node2');
        if (node2 && node2.status !== transitions.at(-1)?.status) transitions.push({ status: node2.status, at: Date.now() });
        await sleep(POLL_MS);
      }
    })();
    const statusAt = (status: string, after: number) => transitions.find((t) => t.status === status && t.at >= after)?.at;

    // The steady load: legacy POSTs through haproxy, each a numbered message to bob (on node A).
    const sent: Sent[] = [];
    let seq = 0;
    let loading = true;
    const client = async () => {
      while (loading) {
        const s: Sent = { seq: ++seq, status: 'no answer', start: Date.now(), end: 0 };
        sent.push(s);
        try {
          const res = await fetch(`http://127.0.0.1:${lbPort}/rest`, {
            method: 'POST',
            body: messageXml('bob@localhost', 'localhost/rest', `lb-${s.seq}`),
            signal: AbortSignal.timeout(15_000),
          });
          const text = await res.text();
          s.status = res.status;
          if (res.status !== 200) s.error = text.slice(0, 200);
        } catch (err) {
          s.error = `${String(err)} ${String((err as { cause?: unknown }).cause ?? '')}`; // status stays 'no answer'
        }
        s.end = Date.now();
        await sleep(PAUSE_MS);
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, client));

    await sleep(2000);
    const before = await pool(statsPort);
    expect([before.get('node1')!.sessions, before.get('node2')!.sessions], 'both nodes served before').to.satisfy((n: number[]) => n.every((x) => x > 0));

    // B dies.
    const killed = b;
    const killedAt = Date.now();
    process.kill(killed.pid!, 'SIGKILL');
    await killed.stop();
    await until('B out of the pool', async () => statusAt('DOWN', killedAt) !== undefined, 10_000);
    const leftAt = statusAt('DOWN', killedAt)!;
    await sleep(1000); // A alone serves everything

    // B restarts in place, as systemd would; its health is watched from outside, as haproxy does.
    let healthyAt = 0;
    const healthWatch = (async () => {
      while (healthyAt === 0 && loading) {
        const ok = await fetch(`http://127.0.0.1:${killed.options.httpPort}/rest/health`, { signal: AbortSignal.timeout(1000) })
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) healthyAt = Date.now();
        else await sleep(POLL_MS);
      }
    })();
    const restartedAt = Date.now();
    b = await cluster.node(cluster.nodeName('b'), killed);
    await until('B back in the pool', async () => statusAt('UP', restartedAt) !== undefined, 15_000);
    await healthWatch;
    const rejoinedAt = statusAt('UP', restartedAt)!;
    const servedBefore = (await pool(statsPort)).get('node2')!.sessions;
    await sleep(2000);
    const servedAfter = (await pool(statsPort)).get('node2')!.sessions;
    loading = false;
    await load;
    watching = false;
    await watcher;

    console.log(`      B killed at ${killedAt}, out of the pool at ${leftAt}, restarted at ${restartedAt}, healthy at ${healthyAt}, back at ${rejoinedAt}`);
    // Every request answered: 200, or 502 for one that was inside B when it died (never replayed).
    const unanswered = sent.filter((s) => s.status === 'no answer');
    expect(unanswered, `requests without an HTTP answer (B killed at ${killedAt})`).to.deep.equal([]);
    const failed = sent.filter((s) => s.status !== 200);
    for (const s of failed) {
      expect(s.status, `request ${s.seq}: ${s.error}`).to.equal(502);
      expect(s.start <= killedAt && s.end >= killedAt, `request ${s.seq} was in flight when B died`).to.equal(true);
    }
    expect(failed.length, 'at most one request a client in flight at the kill').to.be.at.most(CLIENTS);

    // The real XMPP client counts: every answered message once, nothing twice, nothing unsent.
    const answered = sent.filter((s) => s.status === 200).map((s) => `lb-${s.seq}`);
    const count = () => {
      const seen = new Map<string, number>();
      for (const m of bob.messages) {
        const body = bodyOf(m) ?? '';
        if (body.startsWith('lb-')) seen.set(body, (seen.get(body) ?? 0) + 1);
      }
      return seen;
    };
    await until('every answered message delivered', async () => answered.every((body) => count().has(body)), 15_000);
    await sleep(1000); // room for a duplicate to show up
    const seen = count();
    expect([...seen].filter(([, n]) => n > 1), 'messages received twice').to.deep.equal([]);
    expect([...seen.keys()].filter((body) => !sent.some((s) => `lb-${s.seq}` === body)), 'messages never sent').to.deep.equal([]);

    // In the documented times.
    const measured = {
      requests: sent.length,
      answered502: failed.length,
      leftPoolMs: leftAt - killedAt,
      rejoinedAfterHealthyMs: rejoinedAt - healthyAt,
      restartToServingMs: rejoinedAt - restartedAt,
      maxLatencyMs: Math.max(...sent.map((s) => s.end - s.start)),
    };
    console.log(`      measured: ${JSON.stringify(measured)}`);
    expect(healthyAt, "B's /rest/health answered 200 again").to.be.above(0);
    expect(measured.leftPoolMs, 'B left the pool within the documented time').to.be.at.most(LEAVES_WITHIN_MS + POLL_MS);
    expect(measured.rejoinedAfterHealthyMs, 'B rejoined the pool within the documented time').to.be.at.most(REJOINS_WITHIN_MS + POLL_MS);
    expect(servedAfter, 'B serves again').to.be.above(servedBefore);
  });
});
