// SPDX-License-Identifier: GPL-2.0-or-later
// Golden frames shared with EUnit (test/erl/mod_rest_frames_tests.erl): the worker must decode
// what Erlang's term_to_binary produced, and produce exactly the bytes Erlang is tested against.
// UPDATE_GOLDEN=1 rewrites the from-worker files from the current encoder.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, type OutTerm } from '../../src/port/etf.js';
import { encodeTerm } from '../../src/port/etf-writer.js';
import { helloFrame, logFrame, parseInbound, replyFrame, type Inbound } from '../../src/port/protocol.js';

const DIR = path.join(__dirname, '..', 'fixtures', 'etf');

const toWorker: Array<[string, Inbound]> = [
  [
    'request-post',
    {
      type: 'request',
      id: 42,
      request: {
        method: 'POST',
        path: [],
        body: Buffer.from("<message to='nolan@localhost' from='localhost/rest'><body>World</body></message>"),
        ip: '127.0.0.1',
        host: 'localhost',
      },
    },
  ],
  [
    'request-get-subpath',
    {
      type: 'request',
      id: 0x7fffffff,
      request: { method: 'GET', path: ['x', 'y'], body: Buffer.alloc(0), ip: '::ffff:127.0.0.1', host: 'localhost' },
    },
  ],
  [
    'request-raw-bytes',
    {
      type: 'request',
      id: 300,
      request: {
        method: 'POST',
        path: [],
        body: Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0xff, 0x00]),
        ip: '::1',
        host: 'example.org',
      },
    },
  ],
  [
    'config',
    {
      type: 'config',
      host: 'localhost',
      // Golden frames of a stub without allowed_senders: the vhost alone may send.
      policy: { allowedIps: ['127.0.0.1/32', '::1/128'], allowedDestinations: ['nolan@localhost'], allowedStanzaTypes: [], allowedSenders: ['localhost'] },
    },
  ],
  [
    'config-depth',
    {
      type: 'config',
      host: 'example.org',
      policy: { allowedIps: [], allowedDestinations: [], allowedStanzaTypes: ['message', 'iq'], allowedSenders: ['example.org'], maxXmlDepth: 300 },
    },
  ],
  [
    'request-browser',
    {
      type: 'request',
      id: 9,
      request: {
        method: 'OPTIONS',
        path: [],
        body: Buffer.alloc(0),
        ip: '127.0.0.1',
        host: 'localhost',
        origin: 'https://desk.example.com',
        fetchSite: 'cross-site',
        ownOrigin: 'http://localhost:5280',
        authScheme: 'bearer',
      },
    },
  ],
  [
    'config-origins',
    {
      type: 'config',
      host: 'localhost',
      policy: { allowedIps: [], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: ['localhost'], allowedOrigins: null, apiAllowedOrigins: ['https://desk.example.com'] },
    },
  ],
  [
    'render-browser',
    {
      type: 'render',
      id: 12,
      job: {
        host: 'localhost',
        accept: 'application/json',
        browser: { origin: 'https://desk.example.com', fetchSite: 'cross-site', ownOrigin: 'http://localhost:5280', authScheme: 'bearer' },
        what: 'error',
        code: 'IDEMPOTENCY_KEY_IN_FLIGHT',
      },
    },
  ],
  ['forget', { type: 'forget', host: 'localhost' }],
  ['log-level', { type: 'log_level', level: 'warning' }],
];

const fromWorker: Array<[string, OutTerm]> = [
  ['hello', helloFrame()],
  [
    'reply-route',
    replyFrame(42, {
      kind: 'route',
      stanza: {
        name: 'message',
        attrs: [
          ['to', 'nolan@localhost'],
          ['from', 'localhost/rest'],
          ['xmlns', 'jabber:client'],
        ],
        children: [{ name: 'body', attrs: [], children: ['h\u00e9llo \u{1F600}'] }],
      },
    }),
  ],
  [
    'reply-command-auth',
    replyFrame(7, {
      kind: 'command',
      name: 'register',
      args: ['bob', 'localhost', 'a b'],
      auth: { user: 'admin', server: 'localhost', password: 'secret' },
    }),
  ],
  ['reply-command-noauth', replyFrame(8, { kind: 'command', name: 'status', args: [], auth: null })],
  ['reply-answer', replyFrame(0x7fffffff, { kind: 'answer', status: 406, body: 'Error: REST request is rejected by service.' })],
  [
    'reply-with-headers',
    replyFrame(10, {
      kind: 'with_headers',
      headers: [['Access-Control-Allow-Origin', 'https://desk.example.com'], ['Vary', 'Origin']],
      action: { kind: 'answer', status: 204, body: '' },
    }),
  ],
  [
    'reply-send-batch',
    replyFrame(11, {
      kind: 'send_batch',
      items: [
        { kind: 'send', stanza: { name: 'message', attrs: [['to', 'bob@localhost'], ['id', 'b1']], children: [] } },
        { kind: 'refused', code: 'BATCH_IQ' },
      ],
    }),
  ],
  ['log', logFrame('warning', 'option entry ignored host="localhost"')],
];

describe('golden frames shared with Erlang', () => {
  for (const [name, expected] of toWorker) {
    for (const version of ['v1', 'v2']) {
      it(`decodes Erlang's ${name} frame (${version} atoms)`, () => {
        const bytes = readFileSync(path.join(DIR, `to-worker-${name}-${version}.etf`));
        expect(parseInbound(decode(bytes))).to.deep.equal(expected);
      });
    }
  }

  for (const [name, term] of fromWorker) {
    it(`encodes ${name} to the bytes EUnit decodes`, () => {
      const file = path.join(DIR, `from-worker-${name}.etf`);
      const bytes = encodeTerm(term);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, bytes);
      expect(bytes.equals(readFileSync(file))).to.equal(true);
    });
  }
});
