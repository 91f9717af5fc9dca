// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/openapi.json: a valid OpenAPI 3.1 document (the official schema), served by the
// pipeline without credentials, that lists every answer of the catalogue, every payload key of
// the JSON mapping, and the statuses the Erlang stub answers on its own; and the matcher the
// integration suite's conformance check holds every answer it got against.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { GET_QUERIES } from '../../src/rest/api-paths.js';
import { CATALOGUE, type RestErrorCode } from '../../src/rest/errors.js';
import { FIELDS } from '../../src/rest/jsonmap-fields.js';
import { jsonFromStanza } from '../../src/rest/jsonmap.js';
import {
  DESCRIBED_CODES, IQ_ERROR_STATUSES, METHODS, PAYLOAD_SCHEMAS, describeApi, openApiDocument,
  type OpenApiDocument, type OperationObject,
} from '../../src/rest/openapi.js';
import { compilePolicy, handleRequest } from '../../src/rest/pipeline.js';
import { renderError } from '../../src/rest/render.js';
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS, parseStanza } from '../../src/rest/stanza.js';
import type { RecordedAnswer } from '../integration/answers.js';
import { mismatch, undescribed } from '../integration/openapi-conformance.js';

const ROOT = path.resolve(__dirname, '../..');
const doc: OpenApiDocument = JSON.parse(String(openApiDocument().body));
const CODES = Object.keys(CATALOGUE) as RestErrorCode[];

function operations(d: OpenApiDocument = doc): Array<[string, OperationObject]> {
  return Object.entries(d.paths).flatMap(([p, item]) =>
    METHODS.flatMap((m) => (item[m] ? [[`${m.toUpperCase()} ${p}`, item[m]!] as [string, OperationObject]] : [])),
  );
}
type Resp = { description: string; headers?: Record<string, unknown>; content?: Record<string, unknown> };
const resolve = (r: unknown): Resp => {
  const ref = (r as { $ref?: string }).$ref;
  return (ref ? doc.components.responses[ref.replace('#/components/responses/', '')] : r) as Resp;
};
const responsesOf = (op: OperationObject): Array<[string, Resp]> => Object.entries(op.responses).map(([s, r]) => [s, resolve(r)]);
const erl = (file: string): string => readFileSync(path.join(ROOT, 'erl', file), 'utf8');
const statusesIn = (source: string, pattern: RegExp): number[] => [...new Set([...source.matchAll(pattern)].map((m) => Number(m[1])))].sort((a, b) => a - b);

describe('the OpenAPI document (GET /rest/openapi.json)', () => {
  it('is valid OpenAPI 3.1 by the official schema, and every $ref resolves', async function () {
    this.timeout(30_000); // the validator compiles the OpenAPI schemas first (~2 s)
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    // A copy: resolveRefs() replaces the $refs of the document it validated in place.
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).to.equal(undefined);
    expect([result.valid, validator.version]).to.deep.equal([true, '3.1']);
    expect(() => validator.resolveRefs()).to.not.throw();
    // The same validator refuses a document with one response missing its description.
    const broken = structuredClone(doc) as unknown as { paths: Record<string, { post?: { responses: Record<string, { description?: string }> } }> };
    delete broken.paths['/']!.post!.responses['202']!.description;
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).to.equal(false);
  });

  it('is what the pipeline answers to GET /rest/openapi.json without credentials: 200, application/json', () => {
    const action = handleRequest(
      { method: 'GET', path: ['openapi.json'], body: Buffer.alloc(0), ip: '192.0.2.1', host: 'localhost' },
      compilePolicy({ allowedIps: ['127.0.0.1/32'], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: null }),
    );
    expect(action).to.include({ kind: 'document', status: 200, contentType: 'application/json' });
    expect(JSON.parse(String((action as { body: string }).body))).to.deep.equal(JSON.parse(JSON.stringify(describeApi())));
    expect(doc.servers).to.deep.equal([{ url: '/rest', description: doc.servers[0]!.description }]);
    expect(Object.keys(doc.components.securitySchemes)).to.deep.equal(['basic', 'bearer']);
  });

  it("lists every catalogue entry, with the entry's status, in the responses of an operation", () => {
    const missing = CODES.filter((code) => {
      const status = String(CATALOGUE[code].status);
      return !DESCRIBED_CODES.has(code) || !operations().some(([, op]) => op.responses[status] && resolve(op.responses[status]).description.includes(`\`${code}\``));
    });
    expect(missing, 'catalogue entries the document does not list').to.deep.equal([]);
    expect(doc.components.schemas.Error).to.have.nested.property('properties.error.properties.id.enum').that.deep.equals(CODES);
  });

  it('declares WWW-Authenticate on every 401 and Retry-After on every 429', () => {
    for (const [name, op] of operations()) {
      for (const [status, r] of responsesOf(op)) {
        if (status === '401') expect(r.headers, `${name} 401`).to.have.property('WWW-Authenticate');
        if (status === '429') expect(r.headers, `${name} 429`).to.have.property('Retry-After');
      }
    }
  });

  it("describes every payload key of the JSON mapping, for the kinds that have it, and no key it does not have", () => {
    const keys = [...new Set(Object.values(FIELDS).flatMap((t) => Object.keys(t)))].sort();
    expect(Object.keys(PAYLOAD_SCHEMAS).sort()).to.deep.equal(keys);
    const properties = (doc.components.schemas.Stanza as { properties: Record<string, { description: string }> }).properties;
    for (const key of keys) {
      const kinds = (['message', 'presence', 'iq'] as const).filter((k) => key in FIELDS[k]);
      expect(properties[key]?.description, key).to.match(new RegExp(`\\(${kinds.join(', ')}\\)$`));
    }
    const payload = doc.paths['/{payload}/{to}']!.get!.parameters!.find((p) => p.name === 'payload')!;
    expect(payload.schema.enum).to.deep.equal([...GET_QUERIES]);
    for (const key of GET_QUERIES) expect(FIELDS.iq, key).to.have.property(key);
  });

  it('has schemas that hold the JSON of real stanzas and every error object the worker writes', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    // The schemas where the document has them, so that their $refs resolve.
    ajv.addSchema({ $id: 'openapi.json', components: { schemas: doc.components.schemas } });
    const stanza = ajv.getSchema('openapi.json#/components/schemas/Stanza')!;
    const error = ajv.getSchema('openapi.json#/components/schemas/Error')!;
    const samples = [
      "<message from='a@localhost/r' to='b@localhost' type='chat' id='m1' xml:lang='en'><body>hi</body><subject>s</subject><thread parent='p'>t</thread>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/><markable xmlns='urn:xmpp:chat-markers:0'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='b@localhost'/>" +
        "<reactions xmlns='urn:xmpp:reactions:0' id='m0'><reaction>+1</reaction></reactions><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>" +
        "<x xmlns='jabber:x:conference' jid='room@muc.localhost' continue='true'/><reply xmlns='urn:xmpp:reply:0' id='m0' to='a@localhost'/></message>",
      "<presence from='a@localhost/r'><show>away</show><status>out</status><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/><idle xmlns='urn:xmpp:idle:1' since='2024-01-01T00:00:00Z'/></presence>",
      "<iq type='result' id='v1' from='localhost'><query xmlns='jabber:iq:version'><name>ejabberd</name><version>23.01</version></query></iq>",
      "<iq type='result' id='d1' from='localhost'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' name='ejabberd'/><feature var='urn:xmpp:ping'/></query></iq>",
      "<iq type='result' id='i1' from='localhost'><query xmlns='http://jabber.org/protocol/disco#items'><item jid='muc.localhost' name='Rooms'/></query></iq>",
      "<iq type='result' id='l1' from='localhost'><query xmlns='jabber:iq:last' seconds='12'>away</query></iq>",
      "<iq type='result' id='f1'><fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'><first>a</first><last>b</last><count>2</count></set></fin></iq>",
      "<iq type='result' id='b1'><blocklist xmlns='urn:xmpp:blocking'><item jid='x@localhost'/></blocklist></iq>",
      "<iq type='error' id='e1' from='b@localhost/nowhere'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
      "<message from='a@localhost'><result xmlns='urn:xmpp:mam:2' id='r1' queryid='q'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/><message from='c@localhost' to='a@localhost'><body>old</body></message></forwarded></result></message>",
    ];
    const properties = Object.keys((doc.components.schemas.Stanza as { properties: object }).properties);
    for (const xml of samples) {
      const json = jsonFromStanza(parseStanza(Buffer.from(xml), MAX_XML_DEPTH, MAX_XML_ELEMENTS))!;
      expect(stanza(json), `${xml.slice(0, 60)}: ${JSON.stringify(stanza.errors)}`).to.equal(true);
      expect(Object.keys(json).filter((k) => !properties.includes(k)), 'keys the schema does not list').to.deep.equal([]);
    }
    expect(stanza({ kind: 'iq', priority: 'high' }), 'a priority that is not an integer').to.equal(false);
    for (const code of CODES) {
      const rendered = renderError(code, { accept: 'application/json', host: 'localhost' });
      expect(error(JSON.parse(String(rendered.body))), `${code}: ${JSON.stringify(error.errors)}`).to.equal(true);
    }
    expect(error({ type: 'error', code: 400, error: { type: 'modify', condition: 'bad-request', text: 'x', code: 400, source: 'mod_rest', id: 'NOPE' } })).to.equal(false);
  });

  it("declares the statuses the Erlang stub answers on its own: mod_rest.erl's, an iq error's by its condition, a command's", () => {
    const post = doc.paths['/']!.post!;
    const declared = (op: OperationObject, type: string) =>
      responsesOf(op).filter(([, r]) => Object.keys(r.content ?? {}).some((t) => t.startsWith(type))).map(([s]) => Number(s));
    const conditions = erl('mod_rest_api.erl').split('condition_status(Text) ->')[1]!.split('\nrefused(')[0]!;
    expect([...statusesIn(conditions, /-> (\d{3});/g), 500].sort((a, b) => a - b)).to.deep.equal([...IQ_ERROR_STATUSES]);
    for (const [name, op] of operations().filter(([, op]) => op.responses['202'] !== undefined)) {
      expect(declared(op, 'application/xmpp+xml'), name).to.include.members([...IQ_ERROR_STATUSES, 200]);
      expect(declared(op, 'application/json'), name).to.include.members([...IQ_ERROR_STATUSES, 200]);
    }
    const vm = statusesIn(erl('mod_rest.erl'), /(?:answer|retry_later)\((\d{3}),/g);
    const command = statusesIn(erl('mod_rest_command.erl'), /(?:refused, |\{|exit_status\(_?\d*\) -> )(\d{3})\b/g);
    expect(vm, 'statuses of mod_rest.erl').to.include.members([200, 400, 403, 413, 429, 500, 503, 504]);
    expect(command, 'statuses of mod_rest_command.erl').to.include.members([200, 400, 401, 403, 422, 429, 500]);
    expect(declared(post, 'text/plain')).to.include.members([...vm, ...command]);
    for (const [name, op] of operations()) expect(declared(op, 'text/plain'), name).to.include.members([400, 403, 413, 429, 500, 503, 504]);
  });
});

describe('the paths the VM answers itself (mod_rest_ops.erl)', () => {
  it('are /metrics and /health, each with every status mod_rest_ops.erl answers, and 405 for any other method', () => {
    const ops = erl('mod_rest_ops.erl');
    const statuses = statusesIn(ops, /(?:text\(|\{)(\d{3}),/g);
    expect(statuses).to.deep.equal([200, 403, 405, 503]);
    for (const p of ['/metrics', '/health']) {
      const item = doc.paths[p]!;
      expect(Object.keys(item.get!.responses).map(Number)).to.include.members([200, 403, 503]);
      expect(ops, `mod_rest_ops:is_ops_path/1 knows ${p}`).to.include(`is_ops_path([<<"${p.slice(1)}">>]) -> true;`);
      for (const m of METHODS.filter((x) => x !== 'get' && x !== 'head')) {
        expect(resolve(item[m]!.responses['405']).headers, `${m} ${p}`).to.have.property('Allow');
      }
    }
  });
});

describe('the conformance check of the integration suite (openapi-conformance.ts)', () => {
  const answer = (method: string, p: string, status: number, contentType?: string): RecordedAnswer => ({ method, path: p, status, contentType, via: 'post' });

  it('accepts answers the document declares, by path, method, status and media type (parameters ignored)', () => {
    const ok = [
      answer('POST', '/rest', 200, 'text/plain; charset=utf-8'),
      answer('POST', '/rest', 202, 'application/xmpp+xml'),
      answer('POST', '/rest', 401, 'application/json'),
      answer('POST', '/rest/echo', 200, 'application/x-www-form-urlencoded'),
      answer('GET', '/rest/archive/a%40localhost?with=b@localhost&max=10', 200, 'application/json'),
      answer('GET', '/rest/openapi.json', 200, 'application/json'),
      answer('POST', '/rest/message/chat/b@localhost', 202, 'application/xmpp+xml'),
      answer('GET', '/rest/qwerty', 200, 'text/plain; charset=utf-8'),
      answer('DELETE', '/rest', 200, 'text/plain; charset=utf-8'),
      answer('BREW', '/rest', 400, 'text/html; charset=utf-8'),
      answer('GET', '/rest/metrics', 200, 'text/plain; version=0.0.4; charset=utf-8'),
      answer('GET', '/rest/health', 503, 'text/plain; charset=utf-8'),
      answer('HEAD', '/rest/health', 200, 'text/plain; charset=utf-8'),
      answer('POST', '/rest/metrics', 405, 'text/plain; charset=utf-8'),
    ];
    expect(ok.map((a) => mismatch(doc, a))).to.deep.equal(ok.map(() => undefined));
  });

  it('refuses, with the reason, answers it does not declare', () => {
    expect(mismatch(doc, answer('POST', '/rest', 418, 'text/plain'))).to.equal('POST / declares no 418');
    expect(mismatch(doc, answer('GET', '/rest/openapi.json', 200, 'text/html'))).to.match(/^GET \/openapi\.json 200 declares application\/json, not text\/html$/);
    expect(mismatch(doc, answer('POST', '/rest', 202, 'application/json'))).to.match(/declares application\/xmpp\+xml, not application\/json/);
    expect(mismatch(doc, answer('POST', '/rest', 200))).to.match(/the answer had no Content-Type/);
    expect(mismatch(doc, answer('POST', '/other', 200, 'text/plain'))).to.equal('no path of the document');
    expect(mismatch(doc, answer('POST', '/rest/a/b/c/d', 200, 'text/plain'))).to.equal('no path of the document');
    expect(mismatch(doc, answer('POST', '/rest/openapi.json', 200, 'application/json'))).to.match(/declares text\/plain, not application\/json/);
    const problems = undescribed(doc, [answer('POST', '/rest', 418), answer('POST', '/rest', 418), answer('POST', '/rest', 200, 'text/plain')]);
    expect(problems).to.deep.equal(['POST /rest -> 418 (no Content-Type): POST / declares no 418 (2 times)']);
  });
});
