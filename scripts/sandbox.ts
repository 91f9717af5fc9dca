// SPDX-License-Identifier: GPL-2.0-or-later
// A throwaway ejabberd on loopback with mod_rest installed as a contrib module: the engine of
// `make run` (`tsx scripts/sandbox.ts run`) and of the integration tests, which import it.
// The node is started as platform-notes.md recommends (a plain erl command line, all state in
// one directory) but without Erlang distribution, so no epmd is left behind. It runs the host's
// ejabberd, or the one of a version-matrix chroot (`target`, below).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
/** What `make build` stages and `make install` copies. */
export const STAGED_MODULE = path.join(ROOT, '_build', 'mod_rest');
const READY_TIMEOUT_MS = 30_000;

// --- the ejabberd under test ---

/**
 * Where the ejabberd under test lives and how its programs (erl, epmd, erl_call) are run: the
 * host's Debian package by default; with MOD_REST_CHROOT (set by scripts/matrix/run.sh), a Debian
 * chroot with a newer ejabberd, its own Erlang/OTP and Node.js, in which /tmp and this repository
 * are mounted at their host paths, so that every path means the same inside and out.
 */
export interface Target {
  /** 'host', or the chroot's directory. */
  readonly name: string;
  /** The host's own ejabberd: the one `make original` fetched Debian's original module for. */
  readonly isHost: boolean;
  /** The contrib module tree installModule copies: MOD_REST_STAGE, default STAGED_MODULE. */
  readonly stagedModule: string;
  /** ERL_LIBS as the target's erl sees it (Debian keeps ejabberd there). */
  readonly erlLibs: string;
  /** erl_call as the target's processes see it. */
  readonly erlCall: string;
  /** The ejabberd release: '23.01', '24.12', '26.07'. */
  readonly ejabberdVersion: string;
  /** Starts one of the target's programs with `env` on top of the target's base environment. */
  spawn(command: string, args: string[], options: TargetSpawnOptions): ChildProcess;
}

export type TargetSpawnOptions = Omit<SpawnOptions, 'env'> & { env: Record<string, string> };

/** Where Debian installs ejabberd (ejabberd-VERSION/{ebin,include}). */
const DEBIAN_EJABBERD_LIBS = '/usr/lib/x86_64-linux-gnu';

function hostTarget(stagedModule: string): Target {
  const erlLibs = process.env.ERL_LIBS ?? DEBIAN_EJABBERD_LIBS;
  return {
    name: 'host',
    isHost: true,
    stagedModule,
    erlLibs,
    erlCall: 'erl_call',
    get ejabberdVersion() {
      return ejabberdVersionIn(erlLibs.split(':'));
    },
    spawn: (command, args, { env, ...options }) => spawn(command, args, { ...options, env: { ...process.env, ...env } }),
  };
}

function chrootTarget(root: string, stagedModule: string): Target {
  return {
    name: root,
    isHost: false,
    stagedModule,
    erlLibs: DEBIAN_EJABBERD_LIBS,
    get erlCall() {
      // erlang-dev ships it under erl_interface, off PATH.
      const lib = '/usr/lib/erlang/lib';
      const dir = readdirSync(path.join(root, lib)).find((d) => d.startsWith('erl_interface-'));
      if (!dir) throw new Error(`${root} has no ${lib}/erl_interface-*: is erlang-dev installed in it?`);
      return path.posix.join(lib, dir, 'bin', 'erl_call');
    },
    get ejabberdVersion() {
      return ejabberdVersionIn([path.join(root, DEBIAN_EJABBERD_LIBS)]);
    },
    // chroot and env both exec, so the child's pid is the program's own and signals reach it.
    // chroot starts in /: env -C restores the working directory, which is the same path inside.
    spawn: (command, args, { env, cwd, ...options }) =>
      spawn(
        'chroot',
        [
          root,
          ...['env', '-i', ...(cwd ? ['-C', String(cwd)] : [])],
          ...['HOME=/root', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'],
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          command,
          ...args,
        ],
        options,
      ),
  };
}

/** The release of the one ejabberd-VERSION[-DEBIAN_REVISION] directory in these library directories. */
function ejabberdVersionIn(libDirs: string[]): string {
  const versions = new Set<string>();
  for (const dir of libDirs.filter(existsSync)) {
    for (const entry of readdirSync(dir)) {
      const m = /^ejabberd-(\d+\.\d+)/.exec(entry);
      if (m) versions.add(m[1]!);
    }
  }
  if (versions.size !== 1) throw new Error(`expected one ejabberd in ${libDirs.join(':')}, found: ${[...versions].join(', ') || 'none'}`);
  return [...versions][0]!;
}

export const target: Target = process.env.MOD_REST_CHROOT
  ? chrootTarget(process.env.MOD_REST_CHROOT, process.env.MOD_REST_STAGE ?? STAGED_MODULE)
  : hostTarget(process.env.MOD_REST_STAGE ?? STAGED_MODULE);

/**
 * The release of the ejabberd under test ('23.01', '24.12', '26.07'), for tests that pin a
 * version's behaviour: `if (ejabberdVersion() >= '24.06') ...` (YY.MM strings compare in order).
 */
export function ejabberdVersion(): string {
  return target.ejabberdVersion;
}

export interface SandboxOptions {
  /** Directory for config, spool, logs and the installed module; created, and emptied first. */
  dir: string;
  c2sPort: number;
  httpPort: number;
  /** mod_rest's options, as they would appear under `modules: mod_rest:` in ejabberd.yml. */
  modRest?: Record<string, unknown>;
  /** Accounts on `localhost`, as [user, password]. */
  users?: Array<[string, string]>;
  /** More options of the c2s listener (e.g. `access: c2s`). */
  c2s?: Record<string, unknown>;
  /** Extra top-level config (acl, access_rules, ...), merged over the defaults. */
  config?: Record<string, unknown>;
  /** Listen address for HTTP; '::' makes a dual-stack listener. */
  httpIp?: string;
  /** Inherit the terminal for the node's own output instead of writing node.out. */
  foreground?: boolean;
  /** A directory with another mod_rest contrib tree to install instead of ours (the original, for comparison). */
  moduleTree?: string;
  /** Start Erlang distribution on loopback (with an epmd of our own) so that tests can rpc(). */
  distribution?: boolean;
  /** Consider the node started once HTTP answers at all, even without a working worker. */
  httpOnly?: boolean;
  /**
   * false: start ejabberd without mod_rest (no module tree, no mod_rest.yml, so no HTTP
   * listener) and consider it started once c2s accepts connections; a test then installs the
   * module itself, e.g. with module_install. Default true.
   */
  installed?: boolean;
  /**
   * A node of a test cluster: Erlang distribution (as `distribution`) on an epmd the caller
   * started and stops, with this node name and cookie, so that the nodes find each other.
   */
  cluster?: {
    epmdPort: number;
    nodeName: string;
    cookie: string;
    /**
     * Give the node its cookie in a file ($HOME/.erlang.cookie, HOME a directory of the
     * sandbox's) rather than on its command line, where every local user can read it: for a
     * cookie that is not the test's own (make run uses ejabberdctl's).
     */
    cookieInFile?: boolean;
  };
  /** More request handlers on the HTTP listener, beside /rest (e.g. '/admin': 'ejabberd_web_admin'). */
  requestHandlers?: Record<string, string>;
  /** Start again in `dir` as it is (config, spool, module): a node restarted after a crash. */
  reuseDir?: boolean;
}

export class Sandbox {
  private node: ChildProcess | null = null;
  private epmd: ChildProcess | null = null;
  private epmdPort = 0;
  readonly nodeName: string;
  private readonly cookie: string;
  readonly modulesPath: string;
  readonly logPath: string;
  readonly consolePath: string;

  constructor(readonly options: SandboxOptions) {
    this.nodeName = options.cluster?.nodeName ?? `mod_rest_${process.pid}_${Math.random().toString(36).slice(2, 8)}@localhost`;
    this.cookie = options.cluster?.cookie ?? Math.random().toString(36).slice(2);
    this.modulesPath = path.join(options.dir, 'modules');
    this.logPath = path.join(options.dir, 'ejabberd.log');
    this.consolePath = path.join(options.dir, 'node.out');
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.options.httpPort}/rest`;
  }

  /** The script path every worker of this sandbox runs: unique, so its processes can be found. */
  get workerScript(): string {
    return path.join(this.modulesPath, 'mod_rest', 'priv', 'worker', 'main.js');
  }

  async start(): Promise<void> {
    const { dir } = this.options;
    const installed = this.options.installed ?? true;
    if (!this.options.reuseDir) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (installed) installModule(this.modulesPath, this.options.moduleTree);
      writeFileSync(path.join(dir, 'ejabberd.yml'), JSON.stringify(this.config(), null, 2));
      if (installed) this.writeModuleConfig();
      const users = (this.options.users ?? []).map(([u, p]) => `{<<${erlString(u)}/utf8>>, <<"localhost">>, <<${erlString(p)}/utf8>>}.`);
      writeFileSync(path.join(dir, 'users.eterm'), users.join('\n') + '\n');
    }

    const output = this.options.foreground ? 'inherit' : openSync(this.consolePath, 'a');
    const distribution: string[] = [];
    const distributionEnv: Record<string, string> = {};
    if (this.options.cluster) {
      this.epmdPort = this.options.cluster.epmdPort;
    } else if (this.options.distribution) {
      // An epmd of our own on a free loopback port, stopped with the node: nothing left behind.
      this.epmdPort = await freePort();
      this.epmd = target.spawn('epmd', ['-port', String(this.epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore', env: {} });
      await sleep(200);
    }
    if (this.epmdPort !== 0) {
      distribution.push('-sname', this.nodeName, '-kernel', 'inet_dist_use_interface', '{127,0,0,1}');
      if (this.options.cluster?.cookieInFile) {
        const home = path.join(this.options.dir, 'home');
        mkdirSync(home, { recursive: true, mode: 0o700 });
        rmSync(path.join(home, '.erlang.cookie'), { force: true });
        writeFileSync(path.join(home, '.erlang.cookie'), this.cookie, { mode: 0o400 });
        distributionEnv.HOME = home;
      } else {
        distribution.push('-setcookie', this.cookie);
      }
      Object.assign(distributionEnv, { ERL_EPMD_PORT: String(this.epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' });
    }
    this.node = target.spawn(
      'erl',
      [
        '-noinput',
        ...distribution,
        '-mnesia', 'dir', JSON.stringify(path.join(dir, 'spool')),
        '-s', 'ejabberd',
        '-eval', REGISTER_USERS,
      ],
      {
        cwd: dir,
        // Its own process group: a terminal Ctrl-C reaches us, and we stop the node in order.
        detached: true,
        stdio: ['ignore', output, output],
        env: {
          ERL_LIBS: target.erlLibs,
          EJABBERD_CONFIG_PATH: path.join(dir, 'ejabberd.yml'),
          EJABBERD_LOG_PATH: this.logPath,
          CONTRIB_MODULES_PATH: this.modulesPath,
          ERL_CRASH_DUMP: path.join(dir, 'erl_crash.dump'),
          ...distributionEnv,
        },
      },
    );
    const exited = new Promise<never>((_, reject) =>
      this.node!.once('exit', (code) => reject(new Error(`ejabberd exited during start (code ${code}); see ${dir}`))),
    );
    await Promise.race([installed ? this.waitUntilServing() : this.waitUntilListening(this.options.c2sPort), exited]);
  }

  /** As an operator would: the module's own config file, which overrides the one it ships with. */
  writeModuleConfig(): void {
    mkdirSync(path.join(this.modulesPath, 'conf'), { recursive: true });
    writeFileSync(path.join(this.modulesPath, 'conf', 'mod_rest.yml'), JSON.stringify(this.moduleConfig(), null, 2));
  }

  /** Until something accepts TCP connections on 127.0.0.1:port. */
  async waitUntilListening(port: number, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (open) return;
      await sleep(100);
    }
    throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms; see ${this.options.dir}`);
  }

  /** Until GET /rest answers 200: the node, the listener, the module and its worker are all up. */
  async waitUntilServing(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const res = await fetch(this.restUrl, { signal: AbortSignal.timeout(2000) });
        last = `${res.status} ${await res.text()}`;
        if (res.status === 200 || this.options.httpOnly) return;
      } catch (err) {
        last = String(err);
      }
      await sleep(100);
    }
    throw new Error(`mod_rest did not come up within ${timeoutMs} ms (last: ${last}); see ${this.options.dir}`);
  }

  /**
   * Runs `ejabberdctl ARGS` against the node (needs `distribution`) the way Debian's ejabberdctl
   * script does: a hidden node that runs ejabberd's own client, `-s ejabberd_ctl -extra NODE
   * ARGS`, whose output is what the node's ejabberd_ctl prints. Resolves with its stdout and exit code.
   */
  async ctl(args: string[]): Promise<{ stdout: string; code: number }> {
    if (this.epmdPort === 0) throw new Error('ctl needs a sandbox started with distribution: true (or cluster)');
    const client = `ctl_${process.pid}_${Math.random().toString(36).slice(2, 8)}@localhost`;
    return new Promise((resolve, reject) => {
      const call = target.spawn(
        'erl',
        ['-sname', client, '-setcookie', this.cookie, '-noinput', '-hidden', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}',
          '-s', 'ejabberd_ctl', '-extra', this.nodeName, ...args],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ERL_LIBS: target.erlLibs, ERL_EPMD_PORT: String(this.epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' } },
      );
      const out: Buffer[] = [];
      call.stdout!.on('data', (d: Buffer) => out.push(d));
      call.stderr!.resume();
      call.once('error', reject);
      call.once('exit', (code) => resolve({ stdout: Buffer.concat(out).toString('utf8'), code: code ?? -1 }));
    });
  }

  /** Evaluates Erlang expressions in the node (needs `distribution`); resolves with erl_call's output. */
  async rpc(expressions: string): Promise<string> {
    if (this.epmdPort === 0) throw new Error('rpc needs a sandbox started with distribution: true (or cluster)');
    return new Promise((resolve, reject) => {
      const call = target.spawn(target.erlCall, ['-sname', this.nodeName, '-c', this.cookie, '-e'], {
        stdio: 'pipe',
        env: { ERL_EPMD_PORT: String(this.epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' },
      });
      let out = '';
      call.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      call.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      call.once('error', reject);
      call.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`erl_call failed (${code}): ${out}`))));
      call.stdin!.end(`${expressions}\n`);
    });
  }

  /** Stops the node (SIGTERM, then SIGKILL after 15 s) and waits for it to exit. */
  async stop(): Promise<void> {
    this.epmd?.kill('SIGTERM');
    this.epmd = null;
    const node = this.node;
    if (!node || node.exitCode !== null || node.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()));
    node.kill('SIGTERM');
    const killer = setTimeout(() => node.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    this.node = null;
  }

  /** Whether the node's VM runs (it has not exited, e.g. halted by leave_cluster). */
  get running(): boolean {
    return this.node !== null && this.node.exitCode === null && this.node.signalCode === null;
  }

  get pid(): number | undefined {
    return this.node?.pid;
  }

  /** OS pids of the workers this sandbox's ejabberd runs (normally exactly one). */
  workerPids(): number[] {
    return findProcesses(this.workerScript);
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  private moduleConfig(): Record<string, unknown> {
    const { httpPort, modRest = {}, httpIp = '127.0.0.1', requestHandlers = {} } = this.options;
    return {
      // As conf/mod_rest.yml: ejabberd's default backlog of 5 stalls bursts of new connections.
      listen: [{ port: httpPort, ip: httpIp, module: 'ejabberd_http', backlog: 1024, request_handlers: { '/rest': 'mod_rest', ...requestHandlers } }],
      modules: { mod_rest: modRest },
    };
  }

  private config(): Record<string, unknown> {
    const { c2sPort, config = {}, c2s = {} } = this.options;
    return {
      hosts: ['localhost'],
      loglevel: 'info',
      auth_method: 'internal',
      auth_password_format: 'plain',
      default_db: 'mnesia',
      acl: { admin: { user: ['admin@localhost'] }, loopback: { ip: ['127.0.0.0/8', '::1/128'] } },
      access_rules: { restaccess: { allow: 'admin' }, local: { allow: 'all' }, configure: { allow: 'admin' } },
      listen: [{ port: c2sPort, ip: '127.0.0.1', module: 'ejabberd_c2s', starttls_required: false, ...c2s }],
      // mod_rest itself is configured in modules/conf/mod_rest.yml (moduleConfig).
      modules: { mod_roster: {}, mod_disco: {}, mod_mam: { default: 'always' }, mod_ping: {}, mod_version: {}, mod_last: {} },
      ...config,
    };
  }
}

// Registers the accounts of users.eterm once ejabberd has started; never fails the boot.
const REGISTER_USERS =
  '{ok, Us} = file:consult("users.eterm"), ' +
  '[catch ejabberd_auth:try_register(U, H, P) || {U, H, P} <- Us].';

function erlString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid Erlang string literal for our inputs
}

/** Copies the staged module where ejabberd looks for contrib modules, like `make install`. */
export function installModule(modulesPath: string, tree = target.stagedModule): void {
  if (!existsSync(path.join(tree, 'ebin', 'mod_rest.beam'))) {
    throw new Error(`${tree} has no ebin/mod_rest.beam: run make build`);
  }
  mkdirSync(modulesPath, { recursive: true });
  cpSync(tree, path.join(modulesPath, 'mod_rest'), { recursive: true, filter: (src) => !src.endsWith('.built') });
}

/** Pids of processes whose command line mentions `needle`. */
export function findProcesses(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Test ports: below Linux's ephemeral range (32768-60999), where any client socket may hold one. */
const TEST_PORTS = { min: 10_000, max: 32_767 };
/** Ports this process handed out: a port just probed and closed is free again until ejabberd binds it. */
const portsGiven = new Set<number>();

/** A TCP port below the ephemeral range, free on every local address right now, never handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = TEST_PORTS.min + Math.floor(Math.random() * (TEST_PORTS.max - TEST_PORTS.min + 1));
    if (portsGiven.has(port) || !(await canListen(port))) continue;
    portsGiven.add(port);
    return port;
  }
  throw new Error(`no free TCP port found between ${TEST_PORTS.min} and ${TEST_PORTS.max}`);
}

/** Whether a listener can bind `port` on '::', which (dual-stack) clashes with any IPv4 or IPv6 one. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '::' }, () => server.close(() => resolve(true)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- `make run`: the configuration every example of README.md and docs/ runs against ---

/** The accounts of `make run` (on `localhost`), as the docs use them: admin is ejabberd's admin. */
export const RUN_ACCOUNTS: ReadonlyArray<[string, string]> = [
  ['admin', 'admin-password'],
  ['nolan', 'nolan-password'],
  ['alice', 'alice-password'],
];
/** The node name the docs' `ejabberdctl --node mod_rest@localhost ...` lines reach. */
export const RUN_NODE = 'mod_rest@localhost';
/**
 * `make run`'s settings that a test (test/integration/newcomer.test.ts) changes to run it beside
 * a user's own `make run`: MOD_REST_RUN_HTTP_PORT, MOD_REST_RUN_C2S_PORT, MOD_REST_RUN_DIR,
 * MOD_REST_RUN_NODE.
 */
const runEnv = (name: string): string | undefined => process.env[`MOD_REST_RUN_${name}`];
/** Where Debian's ejabberdctl (which switches to the user ejabberd) reads its cookie. */
export const EJABBERDCTL_COOKIE = '/var/lib/ejabberd/.erlang.cookie';

/**
 * What `make run` loads besides mod_rest (with its shipped options): what the docs' examples
 * need, as ejabberd's stock configuration has it (send_message comes from mod_admin_extra, the
 * GET /rest/ping and /rest/version examples need mod_ping and mod_version, the archive example
 * mod_mam), and ejabberd's web admin at /admin on the same listener.
 */
export function runSetup(): Pick<SandboxOptions, 'users' | 'config' | 'requestHandlers'> {
  return {
    users: [...RUN_ACCOUNTS],
    config: {
      modules: {
        mod_roster: {},
        mod_disco: {},
        mod_admin_extra: {},
        mod_ping: {},
        mod_version: {},
        mod_last: {},
        mod_mam: { default: 'always' },
      },
    },
    requestHandlers: { '/admin': 'ejabberd_web_admin' },
  };
}

/**
 * The cookie the node must have for Debian's `ejabberdctl` to reach it: the one in the home of
 * the user ejabberd, created there as ejabberd's own first start would when it is missing (root
 * only: ejabberdctl runs for root and that user only). null when it can be neither read nor made.
 */
function ejabberdctlCookie(): string | null {
  try {
    if (existsSync(EJABBERDCTL_COOKIE)) return readFileSync(EJABBERDCTL_COOKIE, 'utf8').trim();
    if (process.getuid?.() !== 0 || !existsSync(path.dirname(EJABBERDCTL_COOKIE))) return null;
    const cookie = Array.from(randomBytes(20), (b) => String.fromCharCode(65 + (b % 26))).join('');
    writeFileSync(EJABBERDCTL_COOKIE, cookie, { mode: 0o400 });
    const owner = statSync(path.dirname(EJABBERDCTL_COOKIE));
    chownSync(EJABBERDCTL_COOKIE, owner.uid, owner.gid);
    return cookie;
  } catch {
    return null;
  }
}

/** epmd's own port, where ejabberdctl looks for nodes. */
const EPMD_PORT = 4369;

async function run(): Promise<void> {
  const httpPort = Number(runEnv('HTTP_PORT') ?? 5285);
  const c2sPort = Number(runEnv('C2S_PORT') ?? 5222);
  const nodeName = runEnv('NODE') ?? RUN_NODE;
  const cookie = ejabberdctlCookie();
  // ejabberdctl finds nodes through the standard epmd: ours, unless one already runs there.
  let epmd: ChildProcess | null = null;
  if (cookie !== null && (await canListen(EPMD_PORT))) {
    epmd = target.spawn('epmd', ['-port', String(EPMD_PORT), '-address', '127.0.0.1'], { stdio: 'ignore', env: {} });
    await sleep(200);
  }
  const sandbox = new Sandbox({
    dir: runEnv('DIR') ?? path.join(ROOT, '.run'),
    c2sPort,
    httpPort,
    ...runSetup(),
    ...(cookie !== null ? { cluster: { epmdPort: EPMD_PORT, nodeName, cookie, cookieInFile: true } } : {}),
    foreground: true,
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping ejabberd ...');
    await sandbox.stop();
    epmd?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await sandbox.start();
  const http = `http://127.0.0.1:${httpPort}`;
  const ctl =
    cookie !== null
      ? `ejabberdctl --node ${nodeName} registered_users localhost    (as root)`
      : `(none: Debian's ejabberdctl needs root and ${EJABBERDCTL_COOKIE}; this node runs without distribution)`;
  console.log(`
ejabberd is running with mod_rest (vhost localhost; state and logs in ${path.relative(process.cwd(), sandbox.options.dir) || '.'}/).
  the original protocol and the API:  ${http}/rest
  health and metrics:                 ${http}/rest/health  ${http}/rest/metrics
  OpenAPI description:                ${http}/rest/openapi.json
  web admin:                          ${http}/admin/  (log in as admin@localhost / admin-password;
                                      mod_rest's page: ${http}/admin/server/localhost/rest/)
  XMPP clients:                       127.0.0.1:${c2sPort}
  accounts:                           ${RUN_ACCOUNTS.map(([u, p]) => `${u}@localhost / ${p}`).join(', ')} (admin is the admin)
  ejabberdctl:                        ${ctl}

Try, from another terminal (README.md has more, and says why each answer ends without a newline):

  curl -w '\\n' ${http}/rest -d '<message to="nolan@localhost" from="localhost/rest"><body>World</body></message>'
  curl -w '\\n' ${http}/rest -d '--auth admin localhost admin-password registered_users localhost'
  curl -w '%{http_code}\\n' -u nolan:nolan-password ${http}/rest \\
       -H 'Content-Type: application/json' -d '{"to": "alice@localhost", "body": "Hi"}'

Ctrl-C stops it.`);
  await new Promise(() => undefined); // until a signal
}

if (require.main === module && process.argv[2] === 'run') {
  run().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
