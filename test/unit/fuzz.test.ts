// SPDX-License-Identifier: GPL-2.0-or-later
// Property-based tests of the worker's parsers (fast-check). `make test` runs FUZZ_RUNS inputs
// per property (default 2,000); raise it for a long run, e.g. FUZZ_RUNS=100000.
import { expect } from 'chai';
import fc from 'fast-check';
import { decode, EtfDecodeError } from '../../src/port/etf.js';
import { FrameReader, frame } from '../../src/port/framing.js';
import { parseInbound, ProtocolError } from '../../src/port/protocol.js';
import { compileIpPolicy } from '../../src/rest/access.js';
import { splitCommandLine } from '../../src/rest/command-line.js';
import { CATALOGUE, RestError } from '../../src/rest/errors.js';
import { compilePolicy, handleRequest } from '../../src/rest/pipeline.js';
import type { Action, HostPolicy } from '../../src/rest/types.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const params = { numRuns: RUNS };

// Pieces of XML, valid and hostile, that random sequences of make interesting near-stanzas.
const XML_TOKENS = [
  '<', '>', '</', '/>', '<message', '</message>', '<presence', '<iq', '<body>', '</body>', '<foo', '<a:b',
  ' from="a@localhost"', ' to="nolan@localhost/r"', " from='localhost'", ' type="chat"', ' xmlns="jabber:client"',
  ' xmlns:a="urn:x"', '"', "'", '=', '&', '&amp;', '&lt;', '&#0;', '&#x1F600;', '&ent;', '<!DOCTYPE m [<!ENTITY ent "x">]>',
  '<?pi x?>', '<?xml version="1.0"?>', '<![CDATA[', ']]>', '<!--', '-->', ' ', '\n', '\t', 'text', '\u0000',
  '\uFFFE', '\uD800', '😀', 'é',
];
const xmlish = fc.array(fc.constantFrom(...XML_TOKENS), { maxLength: 40 }).map((t) => Buffer.from(t.join(''), 'utf8'));
const body = fc.oneof(
  xmlish,
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(`--auth ${s}`, 'utf8')),
);

const POLICIES: HostPolicy[] = [
  { allowedIps: [], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: null },
  { allowedIps: ['127.0.0.1/32', '::1/128'], allowedDestinations: ['nolan@localhost'], allowedStanzaTypes: ['message'], allowedSenders: ['localhost'] },
  { allowedIps: ['10.0.0.0/8'], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: [], maxXmlDepth: 3 },
];
const compiled = POLICIES.map(compilePolicy);
const ANSWER_STATUSES = new Set(Object.values(CATALOGUE).map((e) => e.status));

function wellFormed(action: Action): boolean {
  switch (action.kind) {
    case 'answer':
      return ANSWER_STATUSES.has(action.status) && action.body.startsWith(action.status === 200 ? 'Try' : 'Error: ');
    case 'route':
    case 'send':
    case 'echo':
    case 'archive':
      return action.stanza.name.length > 0;
    case 'send_batch':
      return action.items.every((i) => (i.kind === 'refused' ? CATALOGUE[i.code] !== undefined : i.stanza.name.length > 0));
    case 'command':
      return action.name.length > 0 && action.args.every((a) => typeof a === 'string');
    case 'document':
      return ANSWER_STATUSES.has(action.status) && action.contentType.length > 0;
    case 'with_headers':
      return action.headers.length > 0 && wellFormed(action.action);
  }
}

describe(`fuzzing (${RUNS} inputs per property)`, function () {
  this.timeout(600_000);

  it('the request pipeline answers every input with a defined action, never an internal error', () => {
    fc.assert(
      fc.property(
        body,
        fc.constantFrom('POST', 'GET', 'PUT', 'HEAD', 'X'),
        fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
        fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', 'garbage', ''),
        fc.integer({ min: 0, max: compiled.length - 1 }),
        (b, method, path, ip, p) => {
          const surprises: unknown[] = [];
          const action = handleRequest({ method, path, body: b, ip, host: 'localhost' }, compiled[p]!, (e) => {
            if (!(e instanceof RestError)) surprises.push(e);
          });
          expect(surprises, 'errors that are not RestErrors (bugs)').to.deep.equal([]);
          expect(wellFormed(action), JSON.stringify(action)).to.equal(true);
        },
      ),
      params,
    );
  });

  it('a batch of the API (JSON array, NDJSON, XML stanzas) answers every body with a defined action', () => {
    const stanzaish = fc.constantFrom('<message to="b@x"><body>a</body></message>', '{"kind":"message","to":"b@x","body":"a"}', '[', ']', ',', '\n', '<', '{');
    const batchBody = fc.oneof(body, fc.array(stanzaish, { maxLength: 12 }).map((parts) => Buffer.from(parts.join(''), 'utf8')));
    fc.assert(
      fc.property(
        batchBody,
        fc.constantFrom('application/json', 'application/x-ndjson', 'application/vnd.mod-rest.stanzas+xml'),
        fc.integer({ min: 0, max: compiled.length - 1 }),
        (b, contentType, p) => {
          const surprises: unknown[] = [];
          const req = { method: 'POST', path: [], body: b, ip: '127.0.0.1', host: 'localhost', api: true, contentType };
          const action = handleRequest(req, compiled[p]!, (e) => {
            if (!(e instanceof RestError)) surprises.push(e);
          });
          expect(surprises, 'errors that are not RestErrors (bugs)').to.deep.equal([]);
          expect(wellFormed(action), JSON.stringify(action)).to.equal(true);
          if (action.kind === 'send_batch') {
            expect(action.items.some((i) => i.kind === 'refused' && i.code === 'INTERNAL'), 'an item refused as a defect').to.equal(false);
          }
        },
      ),
      params,
    );
  });

  // Security issue 16, item 9: names of Object.prototype's members as keys, values, path
  // segments and media types, among the mapping's own keys.
  const PROTOTYPE_NAMES = ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'prototype'];
  const KEYS = [...PROTOTYPE_NAMES, 'kind', 'type', 'to', 'from', 'id', 'body', 'ping', 'disco', 'items', 'error', 'archive', 'form', 'fields'];
  const jsonValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(...PROTOTYPE_NAMES, 'message', 'iq', 'chat', 'get', 'bob@localhost', ''),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 4 }),
    ),
  })).value;
  const apiBody = fc.oneof(
    // JSON.stringify writes a "__proto__" key of a dictionary as an own key, as a client sends it.
    fc.dictionary(fc.constantFrom(...KEYS), jsonValue, { maxKeys: 5 }).map((o) => ({ type: 'application/json', body: JSON.stringify(o) })),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...PROTOTYPE_NAMES, 'x', 'bob@localhost')), { maxLength: 4 })
      .map((pairs) => ({ type: 'application/x-www-form-urlencoded', body: pairs.map(([k, v]) => `${k}=${v}`).join('&') })),
  );

  it('the API pipeline answers JSON, form fields and paths named after prototype members with a RestError, never an internal error', () => {
    fc.assert(
      fc.property(
        apiBody,
        fc.constantFrom('POST', 'GET'),
        fc.array(fc.constantFrom(...PROTOTYPE_NAMES, 'iq', 'message', 'ping', 'echo', 'bob@localhost'), { maxLength: 3 }),
        fc.constantFrom<string | undefined>(undefined, ...PROTOTYPE_NAMES),
        fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...PROTOTYPE_NAMES, '1')), { maxLength: 3 }),
        ({ type, body: text }, method, path, contentType, query) => {
          const surprises: unknown[] = [];
          const request = { method, path, body: Buffer.from(text), ip: '127.0.0.1', host: 'localhost', api: true, contentType: contentType ?? type, query };
          const action = handleRequest(request, compiled[0]!, (e) => {
            if (!(e instanceof RestError)) surprises.push(e);
          });
          expect(surprises, 'errors that are not RestErrors (bugs)').to.deep.equal([]);
          expect(wellFormed(action), JSON.stringify(action)).to.equal(true);
        },
      ),
      params,
    );
  });

  it('the command-line splitter never throws, and gives back plain words as they were', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (line) => {
        expect(splitCommandLine(line)).to.be.an('array');
      }),
      params,
    );
    const word = fc.stringMatching(/^[a-z0-9_@.\-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), (words) => {
        expect(splitCommandLine(words.join(' '))).to.deep.equal(words);
      }),
      params,
    );
  });

  it('the command-line splitter keeps a quoted argument with spaces whole', () => {
    const quoted = fc.stringMatching(/^[a-z ]{0,12}$/);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}$/), quoted, (name, arg) => {
        expect(splitCommandLine(`${name} "${arg}" tail`)).to.deep.equal([name, arg, 'tail']);
      }),
      params,
    );
  });

  it('the IP policy matches IPv4 prefixes exactly as masks do, mapped or not, and never throws', () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    const toInt = (o: number[]) => ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
    fc.assert(
      fc.property(octets, fc.integer({ min: 0, max: 32 }), octets, (net, bits, peer) => {
        const match = compileIpPolicy([`${net.join('.')}/${bits}`]);
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const expected = (toInt(net) & mask) === (toInt(peer) & mask);
        expect(match(peer.join('.'))).to.equal(expected);
        expect(match(`::ffff:${peer.join('.')}`)).to.equal(expected);
      }),
      params,
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), (peer, entries) => {
        expect(compileIpPolicy(entries)(peer)).to.be.a('boolean');
      }),
      params,
    );
  });

  it('framing gives back every payload, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => frame(Buffer.from(p))));
          const reader = new FrameReader();
          const out: Buffer[] = [];
          for (let at = 0, i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            out.push(...reader.push(stream.subarray(at, at + size)));
            at += size;
          }
          expect(out.map((b) => [...b])).to.deep.equal(payloads.map((p) => [...p]));
        },
      ),
      params,
    );
  });

  it('decoding a frame from ejabberd fails only with the protocol\'s own errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        // erlang_js loops over a big integer's unchecked length (tags 110, 111), for seconds on
        // garbage. Frames only come from term_to_binary, which never lies about lengths.
        fc.pre(!bytes.includes(110) && !bytes.includes(111));
        const data = Buffer.concat([Buffer.from([131]), Buffer.from(bytes)]);
        try {
          parseInbound(decode(data));
        } catch (err) {
          expect(err instanceof EtfDecodeError || err instanceof ProtocolError, String(err)).to.equal(true);
        }
      }),
      params,
    );
  });
});
