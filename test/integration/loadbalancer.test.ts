// SPDX-License-Identifier: GPL-2.0-or-later
// The load balancers the operations documentation describes, run for real: Debian's haproxy with
// docs/examples/haproxy.cfg and Debian's nginx with docs/examples/nginx.conf (only their
// addresses and ports replaced) in front of a two-node cluster. Under a steady load of legacy
// POSTs, node B is killed (SIGKILL) and later restarted in place: every request gets an HTTP
// answer (a 200, except a request that was inside B when it died, answered 502 and never
// replayed), B leaves and rejoins haproxy's pool (health checks of /rest/health) within the
// times the configuration documents, B serves again through either, and a real XMPP client
// receives each answered message exactly once, and nothing twice. Bounded: about two minutes.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT, type Sandbox } from '../../scripts/sandbox';
import { CLUSTER_TIMEOUT_MS, TestCluster, until } from './cluster-support';
import { ensureDebianTool } from './debian';
import { bodyOf, messageXml, post, sleep, XmppUser } from './support';

const USERS: Array<[string, string]> = [['admin', 'admin-pw'], ['alice', 'alice-pw'], ['bob', 'bob-pw']];
/** The documented times (docs/examples/haproxy.cfg): a node that refuses connections leaves haproxy's pool within 2 s ... */
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

/** Legacy requests node `sb` itself answered 2xx so far (its own /rest/metrics). */
async function answeredBy(sb: Sandbox): Promise<number> {
  const metrics = await post(sb, null, { method: 'GET', path: '/rest/metrics' });
  return Number(/^mod_rest_requests_total\{route="\/",class="2xx"\} (\d+)$/m.exec(metrics.body)?.[1] ?? 0);
}

/** A documented example configuration with only its addresses and ports replaced, each found exactly once. */
function exampleConfig(file: string, replacements: Array<[string, string]>): string {
  let config = readFileSync(path.join(ROOT, 'docs', 'examples', file), 'utf8');
  for (const [from, to] of replacements) {
    expect(config.split(from), `${from} once in docs/examples/${file}`).to.have.length(2);
    config = config.replace(from, to);
  }
  return config;
}

describe('load balancers (docs/examples) in front of a two-node cluster, one node killed and restarted under load', function () {
  this.timeout(CLUSTER_TIMEOUT_MS * 4);
  // Both balancers add X-Forwarded-For: ejabberd takes it from their address only.
  const cluster = new TestCluster({ users: USERS, config: { trusted_proxies: ['127.0.0.1'] } });
  let a: Sandbox;
  let b: Sandbox;
  let bob: XmppUser;
  let balancer: ChildProcess | undefined;
  const dirs: string[] = [];
  let seq = 0;

  before(async function () {
    this.timeout(300_000); // room to install Debian's haproxy and nginx on a first run
    ensureDebianTool('haproxy');
    ensureDebianTool('nginx');
    await cluster.start();
    [a, b] = await Promise.all([cluster.node(cluster.nodeName('a')), cluster.node(cluster.nodeName('b'))]);
    await cluster.join(b, a);
    bob = await XmppUser.login(a, 'bob', 'bob-pw', 'counter');
  });

  afterEach(async () => {
    if (balancer && balancer.exitCode === null) {
      const exited = new Promise((resolve) => balancer!.once('exit', resolve));
      balancer.kill('SIGTERM');
      await exited;
    }
    balancer = undefined;
  });

  after(async function () {
    await bob?.stop();
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed') ?? false;
    await cluster.stop(failed);
    if (!failed && !process.env.KEEP_SANDBOXES) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Starts `program args` in a fresh directory holding `config` as `file`. */
  function startBalancer(name: string, file: string, config: string, args: (dir: string, cfg: string) => string[]): void {
    const dir = mkdtempSync(path.join(os.tmpdir(), `mod_rest-it-${name}-`));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'tmp'));
    writeFileSync(path.join(dir, file), config);
    const out = openSync(path.join(dir, `${name}.out`), 'a');
    balancer = spawn(name, args(dir, path.join(dir, file)), { stdio: ['ignore', out, out] });
  }

  /**
   * The scenario: a steady load through the balancer at `front`; B killed, then restarted in place
   * once `outOfPool` resolves (it waits until the balancer no longer uses B); the load stops once B
   * serves again through the balancer. Checks every request's answer and what bob received.
   */
  async function killAndRestartUnderLoad(front: number, outOfPool: (killedAt: number) => Promise<void>, backInPool: (restartedAt: number) => Promise<void>) {
    const sent: Sent[] = [];
    let loading = true;
    const client = async () => {
      while (loading) {
        const s: Sent = { seq: ++seq, status: 'no answer', start: Date.now(), end: 0 };
        sent.push(s);
        try {
          const res = await fetch(`http://127.0.0.1:${front}/rest`, {
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
    const servedBefore = await answeredBy(b);
    const load = Promise.all(Array.from({ length: CLIENTS }, client));
    await sleep(2000);
    expect(await answeredBy(b), 'B takes its share of the load').to.be.above(servedBefore);

    const killed = b;
    const killedAt = Date.now();
    process.kill(killed.pid!, 'SIGKILL');
    await killed.stop();
    await outOfPool(killedAt);
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
    await backInPool(restartedAt);
    await healthWatch;
    await until('B serves again through the balancer', async () => (await answeredBy(b)) > 0, 10_000);
    await sleep(1000);
    loading = false;
    await load;

    // Every request answered: 200, or 502 for one that was inside B when it died (never replayed).
    expect(sent.filter((s) => s.status === 'no answer'), `requests without an HTTP answer (B killed at ${killedAt})`).to.deep.equal([]);
    const failed = sent.filter((s) => s.status !== 200);
    for (const s of failed) {
      expect(s.status, `request ${s.seq}: ${s.error}`).to.equal(502);
      expect(s.start <= killedAt + POLL_MS && s.end >= killedAt, `request ${s.seq} was in flight when B died (at ${killedAt})`).to.equal(true);
    }
    expect(failed.length, 'at most one request a client in flight at the kill').to.be.at.most(CLIENTS);

    // The real XMPP client counts: every answered message once, nothing twice, nothing unsent.
    const mine = new Set(sent.map((s) => `lb-${s.seq}`));
    const answered = sent.filter((s) => s.status === 200).map((s) => `lb-${s.seq}`);
    const count = () => {
      const seen = new Map<string, number>();
      for (const body of bob.messages.map((m) => bodyOf(m) ?? '')) if (mine.has(body)) seen.set(body, (seen.get(body) ?? 0) + 1);
      return seen;
    };
    await until('every answered message delivered', async () => answered.every((body) => count().has(body)), 15_000);
    await sleep(1000); // room for a duplicate to show up
    expect([...count()].filter(([, n]) => n > 1), 'messages received twice').to.deep.equal([]);
    const latencies = sent.map((s) => s.end - s.start).sort((x, y) => x - y);
    return {
      killedAt,
      restartedAt,
      healthyAt,
      measured: {
        requests: sent.length,
        answered502: failed.length,
        delivered: count().size,
        p50LatencyMs: latencies[Math.floor(latencies.length / 2)],
        maxLatencyMs: latencies.at(-1),
      },
    };
  }

  it('haproxy: answers every request, takes B out and back within the documented times, routes no message twice', async () => {
    const [front, stats] = [await freePort(), await freePort()];
    const config = exampleConfig('haproxy.cfg', [
      ['127.0.0.1:8080', `127.0.0.1:${front}`],
      ['127.0.0.1:8404', `127.0.0.1:${stats}`],
      ['10.0.0.1:5285', `127.0.0.1:${a.options.httpPort}`],
      ['10.0.0.2:5285', `127.0.0.1:${b.options.httpPort}`],
    ]);
    startBalancer('haproxy', 'haproxy.cfg', config, (_dir, cfg) => ['-f', cfg, '-db']);
    await until('haproxy sees both nodes UP', async () => [...(await pool(stats)).values()].every((s) => s.status === 'UP'), 10_000);

    // B's transitions in haproxy's pool, as seen every POLL_MS.
    const transitions: Array<{ status: string; at: number }> = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const node2 = (await pool(stats).catch(() => undefined))?.get('node2');
        if (node2 && node2.status !== transitions.at(-1)?.status) transitions.push({ status: node2.status, at: Date.now() });
        await sleep(POLL_MS);
      }
    })();
    const statusAt = (status: string, after: number) => transitions.find((t) => t.status === status && t.at >= after)?.at;
    const run = await killAndRestartUnderLoad(
      front,
      (killedAt) => until('B out of the pool', async () => statusAt('DOWN', killedAt) !== undefined, 10_000),
      (restartedAt) => until('B back in the pool', async () => statusAt('UP', restartedAt) !== undefined, 15_000),
    );
    watching = false;
    await watcher;
    const leftPoolMs = statusAt('DOWN', run.killedAt)! - run.killedAt;
    const rejoinedAfterHealthyMs = statusAt('UP', run.restartedAt)! - run.healthyAt;
    console.log(`      haproxy: ${JSON.stringify({ ...run.measured, leftPoolMs, rejoinedAfterHealthyMs })}`);
    expect(run.healthyAt, "B's /rest/health answered 200 again").to.be.above(0);
    expect(leftPoolMs, 'B left the pool within the documented time').to.be.at.most(LEAVES_WITHIN_MS + POLL_MS);
    expect(rejoinedAfterHealthyMs, 'B rejoined the pool within the documented time').to.be.at.most(REJOINS_WITHIN_MS + POLL_MS);
  });

  it('nginx: answers every request, serves through A alone and through B again once it is back, routes no message twice', async () => {
    const front = await freePort();
    const config = exampleConfig('nginx.conf', [
      ['127.0.0.1:8080', `127.0.0.1:${front}`],
      ['10.0.0.1:5285', `127.0.0.1:${a.options.httpPort}`],
      ['10.0.0.2:5285', `127.0.0.1:${b.options.httpPort}`],
    ]);
    startBalancer('nginx', 'nginx.conf', config, (dir, cfg) => ['-p', `${dir}/`, '-c', cfg, '-g', 'daemon off;']);
    await until('nginx answers', async () => (await fetch(`http://127.0.0.1:${front}/rest/health`)).status === 200, 10_000);
    // nginx has no pool to watch: it learns from the requests themselves (max_fails, fail_timeout).
    const run = await killAndRestartUnderLoad(front, async () => undefined, async () => undefined);
    console.log(`      nginx: ${JSON.stringify(run.measured)}`);
  });
});
