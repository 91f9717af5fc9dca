// SPDX-License-Identifier: GPL-2.0-or-later
// Shared helpers of the integration tests: a sandboxed ejabberd per suite, raw HTTP requests to
// mod_rest, and a real XMPP client that records what it receives. Everything stays on loopback.
import { client, xml, type Client, type Element } from '@xmpp/client';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, freePort, sleep, type SandboxOptions } from '../../scripts/sandbox.js';
import { recordAnswer } from './answers.js';

export { findProcesses, sleep } from '../../scripts/sandbox.js';
export type { Element } from '@xmpp/client';

/** How long a stanza may take to reach a client before a test gives up on it. */
export const DELIVERY_TIMEOUT_MS = 5_000;
/** How long to watch for something that must NOT arrive (closed earlier by a sentinel). */
export const ABSENCE_WINDOW_MS = 500;
/** No single HTTP request of these tests may take longer than this. */
const HTTP_TIMEOUT_MS = 15_000;

export type SandboxSetup = Omit<SandboxOptions, 'dir' | 'c2sPort' | 'httpPort'>;

/** Starts an ejabberd with mod_rest in a fresh temporary directory, on free loopback ports. */
export async function startSandbox(name: string, setup: SandboxSetup = {}): Promise<Sandbox> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mod_rest-it-${name}-`));
  const sb = new Sandbox({ ...setup, dir, c2sPort: await freePort(), httpPort: await freePort() });
  try {
    await sb.start();
  } catch (err) {
    await sb.stop();
    throw err;
  }
  return sb;
}

/** Stops a sandbox; its directory is removed unless `keep` (left for post-mortems of failures). */
export async function stopSandbox(sb: Sandbox | undefined, keep = false): Promise<void> {
  if (!sb) return;
  await sb.stop();
  if (!keep && !process.env.KEEP_SANDBOXES) rmSync(sb.options.dir, { recursive: true, force: true });
}

/** True when a test of the running suite failed (for `stopSandbox(sb, suiteFailed(this))`). */
export function suiteFailed(ctx: Mocha.Context): boolean {
  const suite = ctx.test?.parent;
  return suite?.tests.some((t) => t.state === 'failed') ?? false;
}

// --- HTTP ---

export interface Reply {
  status: number;
  contentType: string | undefined;
  /** The body decoded as UTF-8. */
  body: string;
  raw: Buffer;
  headers: http.IncomingHttpHeaders;
}

export interface PostOptions {
  /** HTTP method; default POST. */
  method?: string;
  /** Request path; default /rest. */
  path?: string;
  /** The Host header; default 127.0.0.1:PORT, as HTTP clients send it. */
  host?: string;
  /** The address to connect to (e.g. ::1); default 127.0.0.1. */
  address?: string;
  headers?: Record<string, string>;
}

/**
 * Sends one request to the sandbox's HTTP listener on a fresh connection and resolves with its
 * answer. Rejects when no HTTP answer comes back (connection dropped, reset, or timed out).
 */
export function post(sb: Sandbox, body: string | Buffer | null, opts: PostOptions = {}): Promise<Reply> {
  const data = body === null ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.host !== undefined) headers.Host = opts.host;
  if (data !== null) {
    headers['Content-Type'] ??= 'text/plain; charset=utf-8';
    headers['Content-Length'] = String(data.length);
  }
  const method = opts.method ?? 'POST';
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      {
        host: opts.address ?? '127.0.0.1',
        port: sb.options.httpPort,
        path: opts.path ?? '/rest',
        method,
        headers,
        agent: false, // one connection per request: no stale keep-alive socket can fake a drop
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          recordAnswer({ method, path: opts.path ?? '/rest', status: res.statusCode ?? 0, contentType: res.headers['content-type'], via: 'post' });
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: raw.toString('utf8'),
            raw,
            headers: res.headers,
          });
        });
      },
    );
    req.setTimeout(HTTP_TIMEOUT_MS, () => req.destroy(new Error(`no HTTP answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new Error(`${method} ${opts.path ?? '/rest'}: no HTTP answer (${err.message})`)));
    req.end(data ?? undefined);
  });
}

// --- XMPP ---

/** What XmppUser.login() needs of a server: a Sandbox, or the Prosody of test/prosody/ (scripts/prosody.ts). */
export type XmppServer = { readonly options: { readonly c2sPort: number } };

/** A unique token for message bodies, so each test recognises its own stanzas. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export function bodyOf(stanza: Element): string | null {
  return stanza.is('message') ? stanza.getChildText('body') : null;
}

/** `<message to=... from=...><body>text</body></message>`, attributes escaped. */
export function messageXml(to: string, from: string | null, text: string): string {
  const fromAttr = from === null ? '' : ` from="${escapeXml(from)}"`;
  return `<message to="${escapeXml(to)}"${fromAttr}><body>${escapeXml(text)}</body></message>`;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Waiter {
  predicate: (s: Element) => boolean;
  resolve: (s: Element) => void;
}

/** A logged-in, available XMPP user that records every stanza it receives. */
export class XmppUser {
  /** Every stanza received since login, in order. */
  readonly stanzas: Element[] = [];
  private waiters: Waiter[] = [];

  private constructor(
    private readonly xmpp: Client,
    readonly jid: string,
    readonly bareJid: string,
  ) {}

  /** Logs in over plain TCP (SASL SCRAM-SHA-1), sends initial presence and waits for its echo. */
  static async login(sb: XmppServer, username: string, password: string, resource = 'test'): Promise<XmppUser> {
    const xmpp = client({
      service: `xmpp://127.0.0.1:${sb.options.c2sPort}`,
      domain: 'localhost',
      username,
      password,
      resource,
    });
    decodeAcrossChunks(xmpp);
    const errors: unknown[] = [];
    xmpp.on('error', (err) => errors.push(err));
    let user: XmppUser | undefined;
    const early: Element[] = [];
    xmpp.on('stanza', (s) => (user ? user.receive(s) : early.push(s)));
    try {
      const jid = await withTimeout(xmpp.start(), 10_000, `login of ${username}`);
      user = new XmppUser(xmpp, jid.toString(), `${username}@localhost`);
      early.forEach((s) => user!.receive(s));
      const me = user;
      const echo = me.waitFor((s) => s.is('presence') && s.attrs.from === me.jid, DELIVERY_TIMEOUT_MS);
      await xmpp.send(xml('presence'));
      await echo;
      return me;
    } catch (err) {
      await xmpp.stop().catch(() => undefined);
      throw new Error(`XMPP login of ${username} failed: ${String(err)}${errors.length ? ` (${errors.map(String).join('; ')})` : ''}`);
    }
  }

  /** Messages received so far. */
  get messages(): Element[] {
    return this.stanzas.filter((s) => s.is('message'));
  }

  received(predicate: (s: Element) => boolean): Element[] {
    return this.stanzas.filter(predicate);
  }

  /** The first stanza, received already or within timeoutMs, that satisfies predicate. */
  waitFor(predicate: (s: Element) => boolean, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<Element> {
    const seen = this.stanzas.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<Element>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.jid}: nothing expected arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The message whose body is exactly `text`. */
  waitForBody(text: string, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<Element> {
    return this.waitFor((s) => bodyOf(s) === text, timeoutMs);
  }

  send(stanza: Element): Promise<void> {
    return this.xmpp.send(stanza);
  }

  /**
   * Answers iq gets (or sets) for <name xmlns=xmlns/> with what `answer` returns (the result's
   * child); a `null` answer leaves them unanswered (the client never replies).
   */
  answerIq(xmlns: string, name: string, answer: ((iq: Element) => Element) | null, type: 'get' | 'set' = 'get'): void {
    const key = `${type} ${xmlns} ${name}`;
    this.iqAnswers.set(key, answer);
    if (this.registered.has(key)) return;
    this.registered.add(key);
    this.xmpp.iqCallee[type](xmlns, name, (ctx) => {
      const current = this.iqAnswers.get(key);
      return current ? current(ctx.stanza) : new Promise<Element>(() => undefined);
    });
  }
  private readonly iqAnswers = new Map<string, ((iq: Element) => Element) | null>();
  private readonly registered = new Set<string>();

  async stop(): Promise<void> {
    await withTimeout(this.xmpp.stop(), 5_000, `logout of ${this.jid}`).catch(() => undefined);
  }

  private receive(s: Element): void {
    this.stanzas.push(s);
    const ready = this.waiters.filter((w) => w.predicate(s));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    ready.forEach((w) => w.resolve(s));
  }
}

/**
 * @xmpp/connection 0.14 decodes every TCP chunk on its own (`data.toString('utf8')`), so a
 * multi-byte character split across two chunks arrives as U+FFFD: a client bug that corrupts
 * large non-ASCII stanzas. Decode with a StringDecoder per socket instead.
 */
function decodeAcrossChunks(xmpp: Client): void {
  const decoders = new WeakMap<object, StringDecoder>();
  const conn = xmpp as unknown as { _onData(data: Buffer): void; socket: object | null; parser: { write(s: string): void } };
  conn._onData = function (this: typeof conn, data: Buffer): void {
    const socket = this.socket ?? conn;
    let decoder = decoders.get(socket);
    if (!decoder) decoders.set(socket, (decoder = new StringDecoder('utf8')));
    this.parser.write(decoder.write(data));
  };
}

/** Sends a sentinel that must reach `to`; returns the sentinel's body text. */
export type Sentinel = () => Promise<string>;

/** The default sentinel: a message posted through mod_rest from the server itself. */
export function restSentinel(sb: Sandbox, to: XmppUser): Sentinel {
  return async () => {
    const text = unique('sentinel');
    const reply = await post(sb, messageXml(to.bareJid, 'localhost/rest', text));
    if (reply.status !== 200) throw new Error(`sentinel refused: ${reply.status} ${reply.body}`);
    return text;
  };
}

/** A sentinel sent by another logged-in user over XMPP (when mod_rest may not reach `to`). */
export function xmppSentinel(from: XmppUser, to: XmppUser): Sentinel {
  return async () => {
    const text = unique('sentinel');
    await from.send(xml('message', { to: to.bareJid }, xml('body', {}, text)));
    return text;
  };
}

/**
 * Asserts that nothing matching `predicate` reaches `receiver`: a sentinel sent after the refused
 * request must arrive, and at least ABSENCE_WINDOW_MS must pass, with no matching stanza seen.
 */
export async function expectNotDelivered(
  receiver: XmppUser,
  predicate: (s: Element) => boolean,
  sentinel: Sentinel,
): Promise<void> {
  const started = Date.now();
  const token = await sentinel();
  await receiver.waitForBody(token);
  const left = ABSENCE_WINDOW_MS - (Date.now() - started);
  if (left > 0) await sleep(left);
  const leaked = receiver.received(predicate);
  if (leaked.length > 0) {
    throw new Error(`${receiver.jid} received what it must not: ${leaked.map((s) => s.toString().slice(0, 300)).join('\n')}`);
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 50 ms until it returns true or timeoutMs passes; returns its last result. */
export async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Posts until the answer is not a 503 (the worker still starting after a restart), for at most
 * timeoutMs; resolves with the last answer. A worker process that exists may not be ready yet.
 */
export async function postWhenReady(sb: Sandbox, body: string, timeoutMs = 10_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await post(sb, body);
    if (reply.status !== 503 || Date.now() >= deadline) return reply;
    await sleep(100);
  }
}

/** Whether ejabberd's log matches `pattern` within timeoutMs: its file handler writes with a delay. */
export async function logEventually(sb: Sandbox, pattern: RegExp | string, timeoutMs = 10_000): Promise<boolean> {
  const matches = () => (typeof pattern === 'string' ? sb.log().includes(pattern) : pattern.test(sb.log()));
  const deadline = Date.now() + timeoutMs;
  while (!matches()) {
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
  return true;
}
