// SPDX-License-Identifier: GPL-2.0-or-later
// A two-node ejabberd cluster on loopback for the suites that need one (cluster.test.ts,
// loadbalancer.test.ts), as operators run one: both nodes with the same configuration but their
// own ports, Erlang distribution on 127.0.0.1 through an epmd of the suite's own on a test port,
// a cookie of its own, Mnesia joined with join_cluster.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, Sandbox, target, type SandboxOptions } from '../../scripts/sandbox';
import { sleep } from './support';

/** How long a join or a restart may take before a suite gives up. */
export const CLUSTER_TIMEOUT_MS = 40_000;

/** Resolves once `check` holds (exceptions count as "not yet": a restarting node answers nothing). */
export async function until(what: string, check: () => Promise<boolean>, ms = CLUSTER_TIMEOUT_MS): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() >= end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

export type NodeSetup = Pick<SandboxOptions, 'users' | 'modRest' | 'config' | 'requestHandlers'>;

export class TestCluster {
  private readonly run = `${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  private readonly cookie = `cluster-${Math.random().toString(36).slice(2)}`;
  private readonly dirs: string[] = [];
  private readonly started: Sandbox[] = [];
  private epmd: ChildProcess | undefined;
  private epmdPort = 0;

  constructor(private readonly setup: NodeSetup) {}

  /** The Erlang node name of the cluster's node `letter` (a, b, ...). */
  nodeName(letter: string): string {
    return `mod_rest_${letter}_${this.run}@localhost`;
  }

  /** Starts the suite's epmd. */
  async start(): Promise<void> {
    this.epmdPort = await freePort();
    this.epmd = target.spawn('epmd', ['-port', String(this.epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore', env: {} });
    await sleep(200);
  }

  /** Starts a node: a fresh one, or `previous` restarted in place (same directory and ports), as systemd would after a crash. */
  async node(name: string, previous?: Sandbox): Promise<Sandbox> {
    const dir = previous?.options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'mod_rest-it-cluster-'));
    if (!previous) this.dirs.push(dir);
    const sb = new Sandbox({
      ...this.setup,
      dir,
      c2sPort: previous?.options.c2sPort ?? (await freePort()),
      httpPort: previous?.options.httpPort ?? (await freePort()),
      cluster: { epmdPort: this.epmdPort, nodeName: name, cookie: this.cookie },
      reuseDir: previous !== undefined,
    });
    this.started.push(sb);
    await sb.start();
    return sb;
  }

  /** Joins `joiner` to `to`'s cluster (join_cluster; from 24.06 it acts a second later) and waits until it serves again. */
  async join(joiner: Sandbox, to: Sandbox): Promise<void> {
    const out = await joiner.rpc(`ejabberd_admin:join_cluster(<<"${to.nodeName}">>).`);
    expect(out, 'join_cluster').to.match(/^\{ok, ?(ok|\{ok,)/);
    await until('both nodes list each other', async () => {
      const [x, y] = await Promise.all([to.rpc('lists:sort(ejabberd_cluster:get_nodes()).'), joiner.rpc('lists:sort(ejabberd_cluster:get_nodes()).')]);
      return x.includes(joiner.nodeName) && y.includes(to.nodeName);
    });
    await joiner.waitUntilServing(CLUSTER_TIMEOUT_MS);
    await until('the joined node has the accounts', async () => (await joiner.rpc('ejabberd_auth:user_exists(<<"alice">>, <<"localhost">>).')) === '{ok, true}');
  }

  /** Stops every node started and the epmd; removes the directories unless `keep`. */
  async stop(keep: boolean): Promise<void> {
    await Promise.all(this.started.map((sb) => sb.stop()));
    this.epmd?.kill('SIGTERM');
    if (!keep && !process.env.KEEP_SANDBOXES) for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
