// SPDX-License-Identifier: GPL-2.0-or-later
// A throwaway Prosody 13 with the newest mod_rest (prosody-modules), on loopback, for the
// side-by-side comparison (test/prosody/) and `make bench`: the peer our authenticated API is
// compatible with. Prosody runs from the Debian sid chroot that `scripts/matrix/chroot.sh sid`
// builds, in a private mount namespace of its own (so the /tmp, /proc and /dev bind mounts it
// needs vanish with it); the chroot shares the host's network, so it listens on the host's
// loopback. Everything it writes (config, accounts, log) stays in one directory under /tmp.
// Never run prosody without such a config: with none it starts the system's default server.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from './sandbox';

/** The sid chroot: MOD_REST_PROSODY_CHROOT, or where scripts/matrix/chroot.sh puts it. */
export const PROSODY_CHROOT =
  process.env.MOD_REST_PROSODY_CHROOT ?? path.join(process.env.MOD_REST_CACHE ?? '/var/cache/mod_rest', 'chroots', 'sid');
/** Bind-mounted at the same path inside the chroot: the throwaway directory must be below it. */
const SHARED_TMP = '/tmp';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
/** prosodyctl register of one account takes ~0.3 s; a hung one must not hang the caller. */
const REGISTER_TIMEOUT_MS = 15_000;

/**
 * The modules of the comparison, in Prosody 13's names: mod_rest and what answers the iqs of the
 * cases (disco, version, ping, lastactivity = XEP-0012), plus what a plain c2s login needs.
 */
export const DEFAULT_MODULES = ['roster', 'saslauth', 'disco', 'version', 'ping', 'lastactivity', 'http', 'rest', 'posix'];

export interface ProsodyOptions {
  /** Created (emptied first); must be under /tmp. */
  dir: string;
  c2sPort: number;
  httpPort: number;
  /** Accounts on `localhost`, as [user, password]. */
  users?: Array<[string, string]>;
  modules?: string[];
  /** Extra global options, as Lua source lines. */
  extraConfig?: string[];
  /** The chroot with prosody and prosody-modules installed; default PROSODY_CHROOT. */
  chroot?: string;
  /** The least level logged to prosody.log; default info. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Why Prosody cannot run here, or null when it can. */
export function prosodyUnavailable(chroot = PROSODY_CHROOT): string | null {
  if (process.getuid?.() !== 0) return 'running Prosody from the sid chroot needs root (chroot, mounts)';
  if (!existsSync(path.join(chroot, '.mod_rest-chroot-v2'))) return `${chroot} is not built: run scripts/matrix/chroot.sh sid (or make test-prosody)`;
  if (!existsSync(path.join(chroot, 'usr/lib/prosody/modules/mod_rest/mod_rest.lua'))) return `${chroot} has no prosody-modules mod_rest`;
  return null;
}

/** Prosody's release in the chroot ('13.0.7'). */
export function prosodyVersion(chroot = PROSODY_CHROOT): string {
  return readFileSync(path.join(chroot, 'usr/lib/prosody/prosody.version'), 'utf8').trim();
}

/** A fresh directory for a Prosody: under /tmp, whatever TMPDIR says, since only /tmp is shared with the chroot. */
export function prosodyTempDir(prefix: string): string {
  return mkdtempSync(path.join(SHARED_TMP, prefix));
}

/** Prosodies started by this process: killed if it exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((p) => p.kill('SIGKILL')));

export class Prosody {
  private proc: ChildProcess | null = null;
  readonly chroot: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly consolePath: string;

  constructor(readonly options: ProsodyOptions) {
    this.chroot = options.chroot ?? PROSODY_CHROOT;
    this.configPath = path.join(options.dir, 'prosody.cfg.lua');
    this.logPath = path.join(options.dir, 'prosody.log');
    this.consolePath = path.join(options.dir, 'console.out');
    if (!path.resolve(options.dir).startsWith(`${SHARED_TMP}/`)) throw new Error(`Prosody's directory must be under ${SHARED_TMP}: ${options.dir}`);
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.options.httpPort}/rest`;
  }

  /** Prosody's own pid (unshare, sh, chroot and env all exec: the child we spawn is Prosody). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    const why = prosodyUnavailable(this.chroot);
    if (why) throw new Error(why);
    const { dir } = this.options;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    writeFileSync(this.configPath, this.config());
    for (const [user, password] of this.options.users ?? []) await this.register(user, password);

    const out = openSync(this.consolePath, 'a');
    const proc = this.spawnInChroot(['prosody', '-F', '--config', this.configPath], ['ignore', out, out]);
    this.proc = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, signal) => reject(new Error(`prosody exited during start (${code ?? signal}); see ${this.consolePath} and ${this.logPath}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([this.waitUntilServing(), exited]);
  }

  /** SIGTERM (Prosody shuts down cleanly), SIGKILL after STOP_TIMEOUT_MS; resolves once it exited. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  /** Until mod_rest answers (401 to a request without credentials). */
  private async waitUntilServing(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const res = await fetch(this.restUrl, { method: 'POST', signal: AbortSignal.timeout(2000) });
        await res.text();
        if (res.status === 401) return;
        last = `status ${res.status}`;
      } catch (err) {
        last = String(err);
      }
      await sleep(100);
    }
    throw new Error(`Prosody's mod_rest did not answer within ${READY_TIMEOUT_MS} ms (last: ${last}); see ${this.options.dir}`);
  }

  /** `prosodyctl register` with our config: the account stored as Prosody itself stores it. */
  private async register(user: string, password: string): Promise<void> {
    const proc = this.spawnInChroot(['prosodyctl', '--config', this.configPath, 'register', user, 'localhost', password], ['ignore', 'pipe', 'pipe']);
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), REGISTER_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`prosodyctl register ${user} failed (${code}): ${output}`);
  }

  /**
   * Runs a chroot program in a private mount namespace: /tmp, /proc and /dev are mounted into
   * the chroot for it alone and vanish when it exits (run.sh does the same for ejabberd).
   */
  private spawnInChroot(command: string[], stdio: Array<'ignore' | 'pipe' | number>): ChildProcess {
    const script =
      'root=$1; shift; ' +
      `mount --bind ${SHARED_TMP} "$root${SHARED_TMP}" && mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" && ` +
      'exec chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"';
    return spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', this.chroot, ...command], {
      cwd: this.options.dir,
      stdio,
    });
  }

  private config(): string {
    const { dir, c2sPort, httpPort, modules = DEFAULT_MODULES, extraConfig = [], logLevel = 'info' } = this.options;
    const lua = (s: string) => JSON.stringify(s); // our paths and names are ASCII: a JSON string is a Lua string
    const list = (xs: string[]) => `{ ${xs.map(lua).join(', ')} }`;
    return [
      '-- Written by scripts/prosody.ts: a throwaway Prosody on loopback.',
      // We run as root (chroot and mounts need it): Prosody refuses to, unless told.
      'run_as_root = true',
      `pidfile = ${lua(path.join(dir, 'prosody.pid'))}`,
      `data_path = ${lua(path.join(dir, 'data'))}`,
      `certificates = ${lua(path.join(dir, 'certs'))}`,
      `log = { { levels = { min = ${lua(logLevel)} }, to = "file", filename = ${lua(this.logPath)} } }`,
      // Loopback only, our ports only: no s2s, no components, no TLS listeners.
      'interfaces = { "127.0.0.1" }',
      'local_interfaces = { "127.0.0.1" }',
      `c2s_ports = { ${c2sPort} }`,
      `http_ports = { ${httpPort} }`,
      'http_interfaces = { "127.0.0.1" }',
      'https_ports = { }',
      'c2s_direct_tls_ports = { }',
      's2s_ports = { }',
      's2s_direct_tls_ports = { }',
      'component_ports = { }',
      // Requests to 127.0.0.1:PORT (what HTTP clients send as Host) reach the VirtualHost.
      'http_default_host = "localhost"',
      'authentication = "internal_plain"',
      // Plain test clients (@xmpp/client over TCP, no certificate here).
      'c2s_require_encryption = false',
      'allow_unencrypted_plain_auth = true',
      `modules_enabled = ${list(modules)}`,
      'modules_disabled = { "s2s" }',
      ...extraConfig,
      'VirtualHost "localhost"',
      '',
    ].join('\n');
  }
}
