// SPDX-License-Identifier: GPL-2.0-or-later
// Side by side: the original contrib mod_rest (Debian's ejabberd-mod-rest beam, `make original`)
// and ours, each in its own throwaway ejabberd with the same configuration, sent the same
// requests. Every case either answers alike (status and body) or is a listed defect of the
// original that ours fixes, with the answer ours must give. `make compare` prints the table;
// test/integration/compat-original.test.ts asserts it.
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT, Sandbox } from './sandbox';

export const ORIGINAL_TREE = path.join(ROOT, '_build', 'original', 'mod_rest');

export interface Answer {
  status: number; // 0: the connection was dropped with no answer
  body: string;
  contentType: string;
}

interface Case {
  name: string;
  body?: string | Buffer;
  method?: string;
  path?: string;
  host?: string;
  /** 'same', or the defect of original-mod-rest.md ours fixes, with what ours must answer. */
  expect: 'same' | { defect: string; status: number; body?: string };
}

interface Setup {
  name: string;
  modRest: Record<string, unknown>;
  /** Options given to ours only, on top of modRest (those the original does not know). */
  ours?: Record<string, unknown>;
  cases: Case[];
}

const MSG = (to: string) => `<message to="${to}" from="localhost/rest"><body>World</body></message>`;
const REJECTED = 'Error: REST request is rejected by service.';

export const SETUPS: Setup[] = [
  {
    // Commands without credentials are not ours by default (see 'shipped defaults'): here ours
    // is opened as the README's migration note says, and must then answer as the original.
    name: 'open',
    modRest: { allowed_ips: ['127.0.0.1'] },
    ours: { access_commands: 'open' },
    cases: [
      { name: 'a valid stanza', body: MSG('nolan@localhost'), expect: 'same' },
      { name: 'a valid stanza to /rest/', path: '/rest/', body: MSG('nolan@localhost'), expect: 'same' },
      { name: 'GET', method: 'GET', expect: 'same' },
      { name: 'HEAD', method: 'HEAD', expect: 'same' },
      { name: 'PUT', method: 'PUT', body: 'x', expect: 'same' },
      { name: 'POST to a sub-path', path: '/rest/x', body: MSG('nolan@localhost'), expect: 'same' },
      { name: 'an unclosed tag', body: '<message to="nolan@localhost" from="localhost"><body>x</body>', expect: 'same' },
      { name: 'a bare &', body: '<message to="nolan@localhost" from="localhost"><body>a & b</body></message>', expect: 'same' },
      { name: 'a DOCTYPE', body: '<!DOCTYPE message><message to="nolan@localhost" from="localhost"/>', expect: 'same' },
      { name: 'a non-stanza element', body: '<foo/>', expect: 'same' },
      { name: 'registered_users', body: 'registered_users localhost', expect: 'same' },
      { name: 'register', body: 'register bob localhost pw', expect: 'same' },
      { name: 'connected_users_number', body: 'connected_users_number', expect: 'same' },
      { name: 'quoted arguments', body: 'register "carol" localhost "a b"', expect: 'same' },
      {
        name: 'register again (command fails)',
        body: 'register bob localhost pw',
        expect: { defect: '3: failed commands answer 200', status: 422 },
      },
      {
        name: 'an unknown command',
        body: 'bogus_cmd',
        expect: { defect: '3: failed commands answer 200', status: 400, body: "Error: unknown command 'bogus_cmd'. Did you mean 'dump'?" },
      },
      {
        name: 'too few arguments',
        body: 'register bob',
        expect: { defect: '3: failed commands answer 200', status: 400, body: "Error: the command 'register' requires 2 more argument." },
      },
      {
        name: 'a stanza without from',
        body: '<message to="nolan@localhost"><body>x</body></message>',
        expect: { defect: '10: no from is a 500 badrecord', status: 400, body: "Error: the stanza has no 'from' attribute." },
      },
      {
        name: 'Host: 127.0.0.1',
        host: '127.0.0.1',
        body: 'registered_users localhost',
        expect: { defect: '1: unserved Host drops the connection', status: 200 },
      },
      {
        name: 'invalid UTF-8 in a command',
        body: Buffer.from([0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x20, 0xff]),
        expect: { defect: '1: invalid UTF-8 drops the connection', status: 400, body: 'Error: the command line is not valid UTF-8.' },
      },
      {
        name: 'a wrong --auth password',
        body: '--auth admin localhost WRONG registered_users localhost',
        expect: { defect: '2: --auth passwords are never checked', status: 401, body: 'Error: invalid --auth credentials.' },
      },
      {
        name: 'whitespace before <',
        body: `\n  ${MSG('nolan@localhost')}`,
        expect: { defect: '9: leading whitespace goes down the command path', status: 200, body: 'Ok' },
      },
      {
        name: 'a processing instruction',
        body: `<?pi x?>${MSG('nolan@localhost')}`,
        expect: { defect: '11: processing instructions are accepted', status: 406, body: REJECTED },
      },
      {
        name: 'spaces only',
        body: '   ',
        expect: { defect: 'usage exit code 2 answered 200', status: 400, body: 'Error: no command given.' },
      },
    ],
  },
  {
    name: 'shipped defaults',
    modRest: { allowed_ips: ['127.0.0.1'] },
    cases: [
      {
        name: 'a command without --auth',
        body: 'registered_users localhost',
        expect: { defect: 'security: any local caller ran any command', status: 401 },
      },
      {
        name: 'unregister without --auth',
        body: 'unregister zed localhost',
        expect: { defect: 'security: any local caller ran any command', status: 401 },
      },
      {
        name: 'a stanza from a user',
        body: '<message to="nolan@localhost" from="zed@localhost/x"><body>x</body></message>',
        expect: { defect: '4: any from is routed', status: 403, body: "Error: the stanza's 'from' is not in allowed_senders." },
      },
      { name: 'a stanza from the vhost', body: MSG('nolan@localhost'), expect: 'same' },
    ],
  },
  {
    name: 'destinations and types',
    modRest: { allowed_ips: ['127.0.0.1'], allowed_destinations: ['nolan@localhost'], allowed_stanza_types: ['message', 'presence'] },
    cases: [
      { name: 'an allowed destination', body: MSG('nolan@localhost'), expect: 'same' },
      { name: 'a destination not allowed', body: MSG('zed@localhost'), expect: 'same' },
      {
        name: 'a stanza type not allowed',
        body: '<iq type="get" id="p1" to="nolan@localhost" from="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
        expect: 'same',
      },
      {
        name: 'an allowed destination in other case',
        body: MSG('Nolan@LOCALHOST'),
        expect: { defect: '5: only the exact string matches', status: 200, body: 'Ok' },
      },
      {
        name: 'a resource of an allowed bare JID',
        body: MSG('nolan@localhost/phone'),
        expect: { defect: '5: only the exact full JID matches', status: 200, body: 'Ok' },
      },
    ],
  },
  {
    name: 'peer not allowed',
    modRest: { allowed_ips: ['10.0.0.0/8'] },
    cases: [
      { name: 'a stanza from a refused IP', body: MSG('nolan@localhost'), expect: 'same' },
      { name: 'a command from a refused IP', body: 'registered_users localhost', expect: 'same' },
    ],
  },
  {
    name: 'access_commands',
    modRest: { allowed_ips: ['127.0.0.1'], access_commands: [{ restaccess: ['registered_users'] }] },
    cases: [
      {
        name: 'no --auth',
        body: 'registered_users localhost',
        expect: { defect: '2: access_commands is ignored', status: 401 },
      },
      {
        name: 'a user the rule does not allow',
        body: '--auth nolan localhost nolan-pw registered_users localhost',
        expect: { defect: '2: access_commands is ignored', status: 403 },
      },
      {
        name: 'unregister without --auth',
        body: 'unregister zed localhost',
        expect: { defect: '2: anyone can unregister anyone', status: 401 },
      },
    ],
  },
];

const USERS: Array<[string, string]> = [
  ['admin', 'admin-pw'],
  ['nolan', 'nolan-pw'],
  ['zed', 'zed-pw'],
];

export function send(url: string, c: Pick<Case, 'body' | 'method' | 'path' | 'host'>): Promise<Answer> {
  const target = new URL(c.path ?? '/rest', url);
  const body = c.body === undefined ? undefined : Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body);
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: c.method ?? 'POST',
        agent: false,
        timeout: 10_000,
        headers: { Host: c.host ?? 'localhost', ...(body ? { 'Content-Length': body.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }),
        );
      },
    );
    req.on('error', () => resolve({ status: 0, body: '(connection dropped)', contentType: '' }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

export interface Row {
  setup: string;
  name: string;
  expect: Case['expect'];
  original: Answer;
  ours: Answer;
  ok: boolean;
}

function judge(c: Case, original: Answer, ours: Answer): boolean {
  if (c.expect === 'same') return original.status === ours.status && original.body === ours.body;
  const { status, body } = c.expect;
  const oursRight = ours.status === status && (body === undefined || ours.body === body);
  const originalWrong = original.status !== ours.status || original.body !== ours.body;
  return oursRight && originalWrong;
}

async function startPair(setup: Setup, base: string): Promise<[Sandbox, Sandbox]> {
  const make = async (which: 'original' | 'ours') =>
    new Sandbox({
      dir: path.join(base, `${setup.name.replace(/\W+/g, '-')}-${which}`),
      c2sPort: await freePort(),
      httpPort: await freePort(),
      users: USERS,
      modRest: which === 'ours' ? { ...setup.modRest, ...setup.ours } : setup.modRest,
      ...(which === 'original' ? { moduleTree: ORIGINAL_TREE } : {}),
    });
  const pair: [Sandbox, Sandbox] = [await make('original'), await make('ours')];
  try {
    await Promise.all(pair.map((s) => s.start()));
  } catch (err) {
    await Promise.all(pair.map((s) => s.stop()));
    throw err;
  }
  return pair;
}

/** Runs every setup; each pair of nodes is stopped before the next starts. */
export async function compare(base = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-compare-'))): Promise<Row[]> {
  const rows: Row[] = [];
  try {
    for (const setup of SETUPS) {
      const [original, ours] = await startPair(setup, base);
      try {
        for (const c of setup.cases) {
          const a = await send(original.restUrl, c);
          const b = await send(ours.restUrl, c);
          rows.push({ setup: setup.name, name: c.name, expect: c.expect, original: a, ours: b, ok: judge(c, a, b) });
        }
      } finally {
        await Promise.all([original.stop(), ours.stop()]);
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return rows;
}

function show(a: Answer): string {
  const body = a.body.length > 60 ? `${a.body.slice(0, 57)}...` : a.body;
  return `${a.status} ${JSON.stringify(body)}`;
}

async function main(): Promise<void> {
  const rows = await compare();
  for (const r of rows) {
    const verdict = r.expect === 'same' ? 'same' : `fixed (defect ${r.expect.defect})`;
    console.log(`${r.ok ? 'OK  ' : 'FAIL'} [${r.setup}] ${r.name}: ${verdict}`);
    console.log(`       original: ${show(r.original)}  ${r.original.contentType}`);
    console.log(`       ours:     ${show(r.ours)}  ${r.ours.contentType}`);
  }
  const bad = rows.filter((r) => !r.ok).length;
  console.log(`\n${rows.length - bad} cases as expected, ${bad} not`);
  process.exitCode = bad === 0 ? 0 : 1;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
