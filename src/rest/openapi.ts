// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/openapi.json: an OpenAPI 3.1 description of the whole handler, the original protocol
// included. Built once, at first use, from the tables the code answers with, so that it cannot
// drift: the statuses and words of the catalogue (errors.ts), the payload keys of the JSON
// mapping (jsonmap-fields.ts), the media types of negotiate.ts. What lives in the Erlang stub
// (its own answers, an iq error's status by its condition) is mirrored here in two lists, each
// checked against the Erlang source by test/unit/openapi.test.ts.
import { GET_QUERIES } from './api-paths.js';
import { CATALOGUE, conditionOf, type CatalogueEntry, type RestErrorCode } from './errors.js';
import { CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS, CORS_METHODS, CORS_REQUEST_HEADERS } from './browser.js';
import { FIELDS } from './jsonmap-fields.js';
import { FORM, JSON_TYPE, MEDIA_TYPE, TEXT, XMPP_XML } from './negotiate.js';
import type { Action } from './types.js';
import { NDJSON, STANZAS_XML } from './batch.js';

let cached: Extract<Action, { kind: 'document' }> | undefined;

export function openApiDocument(): Extract<Action, { kind: 'document' }> {
  cached ??= { kind: 'document', status: 200, headers: [], contentType: JSON_TYPE, body: JSON.stringify(describeApi()) };
  return cached;
}

// --- the OpenAPI 3.1 objects used here (a subset, typed) ---
/** A JSON Schema 2020-12 schema, OpenAPI 3.1's dialect. */
export type Schema = { [key: string]: unknown };
type Ref = { $ref: string };
interface MediaTypeObject {
  schema: Schema | Ref;
}
interface ResponseObject {
  description: string;
  headers?: Record<string, Ref>;
  content?: Record<string, MediaTypeObject>;
}
interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description: string;
  schema: Schema;
}
export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; description: string; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject | Ref>;
}
/** The HTTP methods an OpenAPI 3.1 path item can hold. */
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type Method = (typeof METHODS)[number];
export type PathItem = Partial<Record<Method, OperationObject>> & { parameters?: ParameterObject[] };
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; summary: string; description: string; license: { name: string; identifier: string } };
  servers: Array<{ url: string; description: string }>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, Schema>;
    responses: Record<string, ResponseObject>;
    headers: Record<string, { description: string; schema: Schema }>;
    securitySchemes: Record<string, { type: 'http'; scheme: string; description: string; bearerFormat?: string }>;
  };
}

// --- mirrored from the Erlang stub (checked against it by the unit test) ---
/** mod_rest_api:condition_status/1 (an iq error's HTTP status by its condition), and 500 for an error without one. */
export const IQ_ERROR_STATUSES: readonly number[] = [400, 402, 403, 404, 405, 406, 409, 410, 500, 501, 503, 504];
/** The answers mod_rest.erl gives on its own, to any request, before or around the worker. */
const VM_ANSWERS: readonly Answer[] = [
  text(400, 'Error: the request has more than one Content-Length header. / Error: the body is longer than its Content-Length. / Error: the request has more than one X-Forwarded-For header. / Error: the connection is gone.'),
  text(403, 'Error: X-Forwarded-For is only accepted through trusted_proxies.'),
  text(413, 'Error: the body is larger than max_body_size.'),
  text(429, 'Error: too many requests from this address; try again later. (rate_limit_per_ip)', ['Retry-After']),
  text(500, 'Error: internal error in mod_rest.'),
  text(503, 'Error: mod_rest is not enabled on any virtual host.'),
  text(503, 'Error: the REST worker is busy / is not running / stopped / failed; too many requests in flight (max_in_flight); nothing was done, try again.', ['Retry-After']),
  text(504, 'Error: the REST worker did not answer in time; nothing was done. (request_timeout)'),
];
/** mod_rest_command's answers to a command line (the original protocol's, and the API's). */
const COMMAND_ANSWERS: readonly Answer[] = [
  text(200, "A command's output (ejabberdctl's exit code 0), e.g. `Ok`, a list of users."),
  text(400, "Error: unknown command 'NAME'. / Error: the command 'NAME' requires N more argument."),
  text(401, 'Error: invalid --auth credentials. / Error: send --auth USER HOST PASSWORD first: ...'),
  text(403, "Error: USER is not allowed to run 'NAME'. / ejabberd's api_permissions refused it."),
  text(422, "The command's output when it reported failure (a non-zero exit code)."),
  text(429, 'Error: too many failed --auth attempts from this address; try again in a minute.', ['Retry-After']),
  text(500, "Error: the command 'NAME' failed inside ejabberd; ejabberd's log has the details."),
];

// --- answers: one line each, merged per status into response objects ---
type Header = 'WWW-Authenticate' | 'Retry-After' | 'Allow' | 'X-Stanza-Id' | 'Idempotent-Replayed' | 'Access-Control-Allow-Origin' | 'Access-Control-Allow-Methods' | 'Access-Control-Allow-Headers' | 'Access-Control-Max-Age';
/** The body formats an answer may come in. */
type Body = 'text' | 'error' | 'stanza' | 'sent' | 'openapi' | 'html' | 'metrics' | 'batch';
interface Answer {
  status: number;
  body: Body;
  words: string;
  headers?: readonly Header[];
}

function text(status: number, words: string, headers?: readonly Header[]): Answer {
  return { status, body: 'text', words, ...(headers ? { headers } : {}) };
}

function headersOf(entry: CatalogueEntry): Header[] {
  // 409: mod_rest_idempotency adds its Retry-After itself.
  return entry.status === 401 ? ['WWW-Authenticate'] : entry.retryAfter !== undefined || entry.status === 409 ? ['Retry-After'] : [];
}

/** Catalogue entries answered in words only (the original protocol: toAnswer). */
function legacy(codes: readonly RestErrorCode[]): Answer[] {
  return codes.map((code) => {
    const retry = CATALOGUE[code].retryAfter !== undefined || code === 'IDEMPOTENCY_KEY_IN_FLIGHT';
    return text(CATALOGUE[code].status, `\`${code}\`: ${CATALOGUE[code].body}`, retry ? ['Retry-After'] : undefined);
  });
}

/** Catalogue entries of the API, rendered as Accept asks (render.ts renderError). */
function api(codes: readonly RestErrorCode[]): Answer[] {
  return codes.map((code) => {
    const entry = CATALOGUE[code];
    const { condition } = conditionOf(entry);
    return { status: entry.status, body: 'error', words: `\`${code}\` (${condition}): ${entry.body}`, headers: headersOf(entry) };
  });
}

const ROUTED: readonly Answer[] = [
  text(200, 'Ok (the stanza was routed; X-Stanza-Id names it)', ['X-Stanza-Id', 'Idempotent-Replayed']),
  text(400, 'Error: the element is not a stanza (message, presence or iq).'),
  text(403, "Error: the stanza was dropped by the server's user_send_packet hooks."),
  text(500, "Error: xmpp_codec (ejabberd's XMPP codec refused the element; the original's answer)"),
];
const SENT: Answer = {
  status: 202,
  body: 'sent',
  words: 'The message or presence was sent as the account (X-Stanza-Id names it); the body is empty.',
  headers: ['X-Stanza-Id', 'Idempotent-Replayed'],
};
/** A batch (batch.ts, mod_rest_batch.erl): read whole, then answered item by item. */
const BATCHED: Answer = {
  status: 200,
  body: 'batch',
  words: 'A batch (a JSON array, NDJSON or application/vnd.mod-rest.stanzas+xml) was read: each item\'s own status, in order (BatchAnswer).',
  headers: ['Idempotent-Replayed'],
};
/** Refusals of one item of a batch: only ever inside a batch's 200 answer, never a request's status. */
function batchItems(codes: readonly RestErrorCode[]): Answer[] {
  return codes.map((code) => ({
    status: CATALOGUE[code].status,
    body: 'error',
    words: `\`${code}\`: ${CATALOGUE[code].body} (one item's status and error in a batch's 200 answer, never the request's status)`,
  }));
}
const IDEMPOTENCY_KEY: ParameterObject = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'draft-ietf-httpapi-idempotency-key-header: a key (1 to 255 printable ASCII characters, as an sf-string `"..."` or bare). ' +
    'The first POST with it is carried out and its answer kept for idempotency_key_lifetime; a repeat (same method, path and ' +
    'body, same account or, without credentials, same vhost and client address) gets that answer with Idempotent-Replayed: true.',
  schema: { type: 'string', minLength: 1, maxLength: 257 },
};
const IQ_REPLIES: readonly Answer[] = [
  { status: 200, body: 'stanza', words: 'The iq result, with the caller\'s own id.', headers: ['Idempotent-Replayed'] },
  ...IQ_ERROR_STATUSES.map((status): Answer => ({ status, body: 'stanza', words: "The iq error: the status of its condition (RFC 6120 §8.3.3), the error iq as the body." })),
];

// --- GET /rest/metrics and /rest/health: answered in the VM (mod_rest_ops.erl), never by the worker ---
const OPS_OTHER_METHOD = text(405, 'Error: /rest/metrics and /rest/health answer GET and HEAD only.', ['Allow']);
const METRICS_ANSWERS: readonly Answer[] = [
  { status: 200, body: 'metrics', words: "This node's figures (mod_rest_metrics): requests by route and status class, latency histograms, bytes, requests in flight, the worker's state and restarts, refusals, and the figures other modules declare." },
  text(403, 'Error: this address may not read /rest/metrics (metrics_allowed_ips).'),
];
const HEALTH_ANSWERS: readonly Answer[] = [
  text(200, 'OK: the REST worker answered in N ms. (a ping through its main loop, within health_timeout)'),
  text(403, 'Error: this address may not read /rest/health (health_allowed_ips).'),
  text(
    503,
    'Error: unhealthy: the REST worker did not answer the health check in time. / is not running. / stopped during the health check. / failed. / ' +
      "'s input is full. / Error: unhealthy: too many requests in flight (max_in_flight).",
  ),
];

/** One of the module's own paths: GET and HEAD, and every other method answered 405. */
function opsPath(id: string, summary: string, answers: readonly Answer[]): PathItem {
  const item: PathItem = {
    get: operation(id, ['ops'], summary, [], answers),
    head: operation(`head_${id}`, ['ops'], `${summary} (headers only)`, [], answers),
  };
  for (const method of METHODS) {
    item[method] ??= operation(`${method}_${id}`, ['other'], 'Not an operation: any method but GET and HEAD', OPTIONAL_CREDENTIALS, [OPS_OTHER_METHOD]);
  }
  return item;
}

// --- which catalogue entries each request can meet, by the order of the checks (pipeline.ts) ---
const LEGACY_POST: readonly RestErrorCode[] = [
  'REJECTED', 'NO_FROM', 'SENDER_NOT_ALLOWED', 'BAD_UTF8_COMMAND', 'JSON_WITHOUT_TYPE', 'EMPTY_COMMAND', 'BAD_AUTH_SYNTAX',
  'TOO_MANY_ELEMENTS', 'TOO_MANY_ARGUMENTS', 'COMMAND_TOO_LONG', 'NOT_CONFIGURED', 'INTERNAL', 'LEGACY_ORIGIN_NOT_ALLOWED',
];
const LEGACY_OTHER: readonly RestErrorCode[] = ['NOT_POST', 'NOT_CONFIGURED', 'INTERNAL'];
/** Every API request with credentials: the peer, then (in the VM) the account. */
const API_ACCOUNT: readonly RestErrorCode[] = [
  'ORIGIN_NOT_ALLOWED', 'BROWSER_BASIC', 'NO_CREDENTIALS', 'IP_NOT_ALLOWED', 'INVALID_CREDENTIALS', 'API_ACCESS_DENIED', 'C2S_ACCESS_DENIED', 'AUTH_RATE_LIMITED', 'INTERNAL',
];
/** A stanza on its way: the worker's checks, then the VM's codec, sender and hooks. */
const API_STANZA: readonly RestErrorCode[] = [
  'UNSUPPORTED_MEDIA_TYPE', 'BAD_JSON', 'BAD_JSON_STANZA', 'NOT_WELL_FORMED', 'TOO_MANY_ELEMENTS', 'STANZA_TOO_LARGE', 'JSON_TOO_LARGE', 'REJECTED',
  'NOT_A_STANZA', 'INVALID_STANZA', 'BAD_NAMESPACE', 'IQ_PAYLOADS', 'FROM_NOT_ACCOUNT', 'NO_TO', 'BAD_ARCHIVE_QUERY',
];
/** What becomes of a sent stanza: an iq waits for its reply. */
const API_SEND: readonly RestErrorCode[] = ['IQ_TYPE', 'HOOK_DROPPED', 'UNEXPECTED_SENDER', 'IQ_TIMEOUT', 'IQ_WAITS_ACCOUNT', 'IQ_WAITS_NODE', 'NOT_OWN_ARCHIVE'];
const API_COMMAND: readonly RestErrorCode[] = ['BAD_UTF8_COMMAND', 'JSON_WITHOUT_TYPE', 'EMPTY_COMMAND', 'BAD_AUTH_SYNTAX', 'TOO_MANY_ARGUMENTS', 'COMMAND_TOO_LONG', 'CREDENTIALS_TWICE', 'BEARER_COMMAND'];
const API_PATHS: readonly RestErrorCode[] = ['BAD_PATH_BODY', 'NO_SUCH_PATH'];
const API_UNKNOWN: readonly RestErrorCode[] = ['NO_CREDENTIALS', 'IP_NOT_ALLOWED', 'NO_SUCH_PATH', 'INTERNAL'];
/** A batch refused whole, and one item of a batch refused alone. */
const API_BATCH: readonly RestErrorCode[] = ['BATCH_TOO_MANY_ITEMS', 'BATCH_TOO_LARGE'];
const API_BATCH_ITEM: readonly RestErrorCode[] = ['BATCH_IQ', 'BATCH_RATE_LIMITED'];
/** A POST's Idempotency-Key (mod_rest_idempotency.erl), in words without credentials, rendered with them. */
const IDEMPOTENCY: readonly RestErrorCode[] = ['IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_KEY_IN_FLIGHT', 'IDEMPOTENCY_KEY_REUSED'];

/** The catalogue entries each operation lists (for the unit test: every entry is somewhere). */
export const DESCRIBED_CODES: ReadonlySet<RestErrorCode> = new Set([
  ...LEGACY_POST, ...LEGACY_OTHER, ...API_ACCOUNT, ...API_STANZA, ...API_SEND, ...API_COMMAND, ...API_PATHS, ...API_UNKNOWN,
  ...IDEMPOTENCY, ...API_BATCH, ...API_BATCH_ITEM,
]);
/** Answers to a POST with an Idempotency-Key: a repeat gets the first answer, marked Idempotent-Replayed. */
const KEYED: readonly Answer[] = [...legacy(IDEMPOTENCY), ...api(IDEMPOTENCY)];

// --- media types ---
const TEXT_ANSWER = MEDIA_TYPE.text;
const ref = (name: string): Ref => ({ $ref: `#/components/schemas/${name}` });
const XML_STRING = (what: string): Schema => ({ type: 'string', contentMediaType: XMPP_XML, description: what });

/** The media types of a body format, each with its schema. */
function mediaOf(body: Body): Record<string, Schema | Ref> {
  switch (body) {
    case 'text':
      return { [TEXT_ANSWER]: { type: 'string' } };
    case 'error':
      return {
        [TEXT_ANSWER]: { type: 'string' },
        [JSON_TYPE]: ref('Error'),
        [XMPP_XML]: XML_STRING('An XMPP stream error (RFC 6120 §4.9): <error xmlns="http://etherx.jabber.org/streams"> with the condition and a text.'),
      };
    case 'stanza':
      return { [XMPP_XML]: XML_STRING('The stanza.'), [JSON_TYPE]: ref('Stanza'), [FORM]: ref('StanzaForm') };
    case 'sent':
      return { [XMPP_XML]: { type: 'string', maxLength: 0 } };
    case 'openapi':
      return { [JSON_TYPE]: { type: 'object', description: 'This document.' } };
    case 'html':
      return { 'text/html': { type: 'string' } };
    case 'batch':
      return { [JSON_TYPE]: ref('BatchAnswer') };
    case 'metrics':
      return { 'text/plain; version=0.0.4': { type: 'string', description: 'The Prometheus text exposition format, version 0.0.4.' } };
  }
}

/** Answers merged per status: one response object each, its lines the description. */
function responses(answers: readonly Answer[]): Record<string, ResponseObject> {
  const byStatus = new Map<number, { words: string[]; media: Map<string, Array<Schema | Ref>>; headers: Set<Header> }>();
  for (const a of answers) {
    let r = byStatus.get(a.status);
    if (!r) byStatus.set(a.status, (r = { words: [], media: new Map(), headers: new Set() }));
    if (!r.words.includes(a.words)) r.words.push(a.words);
    for (const [type, schema] of Object.entries(mediaOf(a.body))) {
      const list = r.media.get(type) ?? [];
      if (!list.some((s) => JSON.stringify(s) === JSON.stringify(schema))) list.push(schema);
      r.media.set(type, list);
    }
    for (const h of a.headers ?? []) r.headers.add(h);
  }
  const out: Record<string, ResponseObject> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const r = byStatus.get(status)!;
    const content: Record<string, MediaTypeObject> = {};
    for (const [type, schemas] of r.media) content[type] = { schema: schemas.length === 1 ? schemas[0]! : { anyOf: schemas } };
    const response: ResponseObject = { description: r.words.map((w) => `- ${w}`).join('\n'), content };
    if (r.headers.size > 0) response.headers = Object.fromEntries([...r.headers].sort().map((h) => [h, { $ref: `#/components/headers/${h}` }]));
    out[String(status)] = response;
  }
  return out;
}

// --- requests ---
type Security = Array<Record<string, string[]>>;
const CREDENTIALS: Security = [{ basic: [] }, { bearer: [] }];
const OPTIONAL_CREDENTIALS: Security = [{}, ...CREDENTIALS];
const KINDS = ['message', 'presence', 'iq'] as const;

function pathParameter(name: string, description: string, schema: Schema = { type: 'string' }): ParameterObject {
  return { name, in: 'path', required: true, description, schema };
}
const toParameter = pathParameter('to', 'The JID the stanza is addressed to.');

const STANZA_BODIES: Record<string, MediaTypeObject> = {
  [XMPP_XML]: { schema: XML_STRING('One stanza: message, presence or iq (also read under application/xml and text/xml).') },
  'application/xml': { schema: XML_STRING('As application/xmpp+xml.') },
  'text/xml': { schema: XML_STRING('As application/xmpp+xml.') },
  [JSON_TYPE]: { schema: ref('Stanza') },
  [FORM]: { schema: ref('StanzaForm') },
};

/** POST /rest only: many stanzas in one request (batch.ts). */
const BATCH_BODIES: Record<string, MediaTypeObject> = {
  [JSON_TYPE]: { schema: { anyOf: [ref('Stanza'), { type: 'array', items: ref('Stanza'), description: 'A batch: each item sent as one stanza alone.' }] } },
  [NDJSON]: { schema: { type: 'string', description: 'A batch: one Stanza as JSON per line; blank lines are skipped.' } },
  [STANZAS_XML]: { schema: { type: 'string', description: 'A batch: several stanzas one after the other, optionally after an XML declaration.' } },
};

/** Query parameters a GET's payload takes (its JSON fields; archive's are Prosody's MAM keys). */
const QUERY_PARAMETERS: readonly ParameterObject[] = [
  ['node', 'disco, items, command: the node to query.'],
  ['with', 'archive: only messages with this JID.'],
  ['start', 'archive: only messages since this time (XEP-0082).'],
  ['end', 'archive: only messages until this time (XEP-0082).'],
  ['before-id', 'archive: only messages before this archive id.'],
  ['after-id', 'archive: only messages after this archive id.'],
  ['ids', 'archive: only the messages of these archive ids, comma-separated.'],
  ['after', 'archive: the page after this id (XEP-0059).'],
  ['before', 'archive: the page before this id (XEP-0059).'],
  ['max', 'archive: at most this many messages (XEP-0059).'],
  ['queryid', 'archive: the query id the results carry.'],
  ['type', 'extdisco: only services of this type (stun, turn, ...).'],
].map(([name, description]): ParameterObject => ({
  name: name!,
  in: 'query',
  description: description!,
  schema: name === 'max' ? { type: 'string', pattern: '^[0-9]+$' } : { type: 'string' },
}));

function operation(
  operationId: string,
  tags: string[],
  summary: string,
  security: Array<Record<string, string[]>>,
  answers: readonly Answer[],
  more: Partial<OperationObject> = {},
): OperationObject {
  return { operationId, summary, tags, security, ...more, responses: responses([...answers, ...VM_ANSWERS]) };
}

/** What any other method or path is answered (components/responses, shared by every such method). */
function otherResponses(): Record<string, ResponseObject> {
  const out: Record<string, ResponseObject> = {};
  const unknownMethod: Answer = { status: 400, body: 'html', words: 'ejabberd_http\'s own answer to a method it does not know (PATCH in ejabberd 23.01, extension methods): mod_rest never sees it.' };
  for (const [status, response] of Object.entries(responses([...legacy(LEGACY_OTHER), ...api(API_UNKNOWN), unknownMethod, ...VM_ANSWERS]))) {
    out[`other${status}`] = response;
  }
  return out;
}

/** OPTIONS from a browser: the CORS preflight of a page of another origin (browser.ts). */
function preflight(id: string): OperationObject {
  return operation(`options_${id}`, ['cors'], 'CORS preflight: answered for the origins api_allowed_origins lists (and allowed_origins at /rest)', [], [
    {
      status: 204,
      body: 'text',
      words: `The origin is listed: it may send ${CORS_METHODS.join(' and ')} with the headers ${CORS_REQUEST_HEADERS.join(', ')}, for ${CORS_MAX_AGE_SECONDS} s.`,
      headers: ['Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers', 'Access-Control-Max-Age'],
    },
    ...api(['ORIGIN_NOT_ALLOWED']),
    ...legacy(LEGACY_OTHER),
    ...api(API_UNKNOWN),
  ], {
    parameters: [
      { name: 'Origin', in: 'header', required: true, description: 'The page\'s origin, as the browser sends it.', schema: { type: 'string' } },
      { name: 'Access-Control-Request-Method', in: 'header', required: true, description: 'The method of the request to come.', schema: { type: 'string' } },
    ],
  });
}

/** Any method a path does not have: the original's answer without credentials, 404 with them. */
function otherMethods(item: PathItem, id: string): PathItem {
  item.options ??= preflight(id);
  const shared = Object.keys(otherResponses()).map((name): [string, Ref] => [name.slice('other'.length), { $ref: `#/components/responses/${name}` }]);
  for (const method of METHODS) {
    item[method] ??= {
      operationId: `${method}_${id}`,
      summary: 'Not an operation: what any other method or path is answered',
      tags: ['other'],
      security: OPTIONAL_CREDENTIALS,
      responses: Object.fromEntries(shared),
    };
  }
  return item;
}

function paths(): Record<string, PathItem> {
  const stanzaAnswers = [...api(API_ACCOUNT), ...api(API_STANZA), ...api(API_SEND), SENT, ...IQ_REPLIES];
  return {
    '/': otherMethods(
      {
        post: operation('send', ['original', 'api'], 'Send a stanza or run a command line', OPTIONAL_CREDENTIALS, [
          ...legacy(LEGACY_POST),
          ...ROUTED,
          ...COMMAND_ANSWERS,
          ...stanzaAnswers,
          ...api(API_COMMAND),
          BATCHED,
          ...api(API_BATCH),
          ...batchItems(API_BATCH_ITEM),
          ...KEYED,
        ], {
          parameters: [IDEMPOTENCY_KEY],
          description:
            'Without credentials, the original protocol: a stanza (the body starts with `<`) is checked against allowed_senders and the ' +
            'destination policy and routed (`200 Ok`); anything else is an ejabberdctl command line, run under access_commands ' +
            '(`--auth USER HOST PASSWORD` first). Answers are plain text. A JSON or application/xmpp+xml body without credentials is ' +
            'answered 401. With credentials (Basic: an account and its password), the authenticated API: the stanza (XML, JSON or form ' +
            'fields in Prosody\'s mapping) is sent as the account; a message or presence is answered 202, an iq with its reply ' +
            '(Prosody-Rest-Timeout: the seconds to wait, at most iq_max_timeout); a command line runs as the account. Many messages ' +
            'and presences in one request (a JSON array, application/x-ndjson, application/vnd.mod-rest.stanzas+xml; at most ' +
            'api_max_batch_items): each checked and sent as one alone, in order, and answered alone in a 200 (BatchAnswer); an iq ' +
            'in a batch is refused (BATCH_IQ).',
          requestBody: {
            required: false,
            description: 'A stanza, or a command line (text/plain, or form-encoded without any `=`).',
            content: { ...STANZA_BODIES, ...BATCH_BODIES, [TEXT]: { schema: { type: 'string', description: 'A stanza (starting with `<`) or a command line.' } } },
          },
        }),
      },
      'root',
    ),
    '/echo': otherMethods(
      {
        post: operation('echo', ['api'], 'Answer the stanza as it would be sent, sending nothing', CREDENTIALS, [
          ...api(API_ACCOUNT),
          ...api(API_STANZA),
          { status: 200, body: 'stanza', words: 'The stanza as it would be sent: its sender bound to the account.' },
          ...KEYED,
        ], { parameters: [IDEMPOTENCY_KEY], requestBody: { required: true, description: 'A stanza.', content: { ...STANZA_BODIES, [TEXT]: { schema: XML_STRING('A stanza.') } } } }),
      },
      'echo',
    ),
    '/openapi.json': otherMethods(
      { get: operation('openapi', ['meta'], 'This description of the API; public', [], [{ status: 200, body: 'openapi', words: 'This document.' }, ...legacy(['NOT_CONFIGURED'])]) },
      'openapi',
    ),
    '/metrics': opsPath('metrics', "This node's figures in Prometheus text; no credentials, open to metrics_allowed_ips (loopback by default)", METRICS_ANSWERS),
    '/health': opsPath('health', 'Whether the worker answers now; no credentials, open to health_allowed_ips (loopback by default)', HEALTH_ANSWERS),
    // Any other path of one segment (the original's answer to anything but POST /rest).
    '/{path}': otherMethods({ parameters: [pathParameter('path', 'Any other path.')] }, 'path'),
    '/{payload}/{to}': otherMethods(
      {
        parameters: [pathParameter('payload', 'The payload.'), toParameter],
        get: operation('query', ['api'], 'Send an iq get of a payload and answer its reply', CREDENTIALS, [...stanzaAnswers, ...api(API_PATHS), ...legacy(['NOT_POST'])], {
          description:
            'The query string holds the payload\'s fields (e.g. archive: with, start, end, max). A payload the mapping does not have ' +
            'is 404 with credentials, and without them the original\'s `200 Try POSTing a stanza.`.',
          parameters: [
            pathParameter('payload', 'A payload key of an iq in the JSON mapping that is queried with a get.', { type: 'string', enum: [...GET_QUERIES] }),
            ...QUERY_PARAMETERS,
          ],
        }),
      },
      'payload_to',
    ),
    '/{kind}/{type}/{to}': otherMethods(
      {
        parameters: [pathParameter('kind', 'The stanza kind.'), pathParameter('type', "The stanza's type."), toParameter],
        post: operation('send_path', ['api'], 'Send a stanza whose kind, type and destination are in the path', CREDENTIALS, [...stanzaAnswers, ...api(API_PATHS), ...legacy(['NOT_POST']), ...KEYED], {
          description:
            'The body is the rest of the stanza: JSON or form fields, or text (a message\'s body, a presence\'s show). ' +
            '`/iq/{payload}/{to}` sends an iq of that payload, the body its JSON value. Another kind is, without credentials, the original\'s answer.',
          parameters: [
            pathParameter('kind', 'The stanza kind.', { type: 'string', enum: [...KINDS] }),
            pathParameter('type', "The stanza's type (chat, normal, ..., get, set), or for an iq a payload key."),
            IDEMPOTENCY_KEY,
          ],
          requestBody: {
            required: false,
            description: 'The rest of the stanza.',
            content: { [JSON_TYPE]: { schema: ref('Stanza') }, [FORM]: { schema: ref('StanzaForm') }, [TEXT]: { schema: { type: 'string', description: "A message's body or a presence's show." } } },
          },
        }),
      },
      'kind_type_to',
    ),
  };
}

// --- schemas: the stanza JSON (jsonmap.ts, jsonmap-fields.ts) and the error object (render.ts) ---
const str = (description: string): Schema => ({ type: 'string', description });
const flag = (description: string): Schema => ({ const: true, description });
const obj = (description: string, props: Record<string, Schema>): Schema => ({ type: 'object', description, properties: props });
const strings = (...keys: string[]): Record<string, Schema> => Object.fromEntries(keys.map((k) => [k, { type: 'string' }]));
const list = (description: string, items: Schema): Schema => ({ type: 'array', description, items });
const either = (description: string, ...anyOf: Schema[]): Schema => ({ description, anyOf });

const RSM = obj('Result set management (XEP-0059).', strings('after', 'before', 'count', 'first', 'last', 'max', 'index'));
const DATA_FORM = obj('A data form (XEP-0004).', {
  type: { type: 'string' },
  title: { type: 'string' },
  instructions: { type: 'string' },
  fields: list('Its fields.', {
    type: 'object',
    properties: {
      var: { type: 'string' },
      type: { type: 'string' },
      label: { type: 'string' },
      desc: { type: 'string' },
      required: { type: 'boolean' },
      value: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      options: list('Choices of a list field.', { type: 'object', properties: strings('label', 'value') }),
    },
  }),
});

/** A type and description for every payload key of the mapping; the keys of FIELDS, no more, no less (checked by the unit test). */
export const PAYLOAD_SCHEMAS: Readonly<Record<string, Schema>> = {
  delay: str('When it was sent: the stamp of a delay (XEP-0203).'),
  nick: str('A nickname (XEP-0172).'),
  dataform: { ...DATA_FORM, description: 'A data form (XEP-0004).' },
  body: str("A message's body."),
  subject: str("A message's subject."),
  thread: either("A message's thread: its id, or the id and its parent.", { type: 'string' }, { type: 'object', properties: strings('id', 'parent') }),
  html: str("A message's XHTML-IM body (XEP-0071): the markup inside <body>."),
  oob_url: str('A URL of out-of-band data (XEP-0066).'),
  replace: str('The id of the message this one corrects (XEP-0308).'),
  state: { type: 'string', enum: ['active', 'inactive', 'gone', 'composing', 'paused'], description: 'A chat state (XEP-0085).' },
  markable: flag('A chat marker may be sent for it (XEP-0333).'),
  displayed: str('The id of the message marked displayed (XEP-0333).'),
  stanza_ids: list('Ids the server gave the message (XEP-0359); answers only.', { type: 'object', properties: strings('id', 'by') }),
  reactions: obj('Reactions to a message (XEP-0444).', { id: { type: 'string' }, reactions: { type: 'array', items: { type: 'string' } } }),
  reply: obj('The message this one replies to (XEP-0461).', strings('id', 'to')),
  fallback: flag('The body is a fallback (XEP-0428).'),
  encryption: str('The namespace of the encryption used (XEP-0380).'),
  attach_to: str('The id of the message this one is attached to (XEP-0367).'),
  occupant_id: str('A MUC occupant id (XEP-0421).'),
  invite: obj('An invitation to a room (XEP-0249).', { ...strings('jid', 'reason', 'password', 'thread'), continue: { type: 'boolean' } }),
  archive: either(
    'iq: a message archive query (XEP-0313), with Prosody\'s keys (with, start, end, before-id, after-id, ids, after, before, max, or form and page); ' +
      'message: an archived message, as a query\'s result carries it (answers only).',
    obj('The query.', { ...strings('queryid', 'with', 'start', 'end', 'before-id', 'after-id', 'after', 'before', 'max'), ids: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }, form: DATA_FORM, page: RSM }),
    obj('The result.', { id: { type: 'string' }, queryid: { type: 'string' }, forward: obj('The archived message.', { delay: { type: 'string' }, message: ref('Stanza') }) }),
  ),
  rsm: RSM,
  show: str("A presence's availability: away, chat, dnd or xa."),
  status: str("A presence's status text."),
  priority: { type: 'integer', description: "A presence's priority." },
  caps: obj('Entity capabilities (XEP-0115).', strings('ext', 'hash', 'node', 'ver')),
  idle_since: str('Idle since this time (XEP-0319).'),
  muc: obj('Joining a room (XEP-0045), with the history asked for.', {
    history: { type: 'object', properties: { maxchars: { type: 'integer' }, maxstanzas: { type: 'integer' }, seconds: { type: 'integer' }, since: { type: 'string' } } },
  }),
  vcard_update: obj('The vCard avatar hash (XEP-0153).', strings('photo')),
  ping: flag('A ping (XEP-0199).'),
  version: obj('Software version (XEP-0092): empty to ask, name, version and os in the answer.', strings('name', 'version', 'os')),
  disco: either(
    'Service discovery info (XEP-0030): true or a node to ask; identities, features and extensions in the answer.',
    { const: true },
    { type: 'string' },
    {
      type: 'object',
      properties: {
        node: { type: 'string' },
        identities: { type: 'array', items: { type: 'object', properties: strings('category', 'type', 'name') } },
        features: { type: 'array', items: { type: 'string' } },
        extensions: { type: 'object' },
      },
    },
  ),
  items: either(
    'Service discovery items (XEP-0030): true or a node to ask; the items in the answer.',
    { const: true },
    { type: 'string' },
    { type: 'object', properties: strings('node') },
    { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'object', properties: strings('jid', 'node', 'name') }] } },
  ),
  command: either(
    'An ad-hoc command (XEP-0050): its node, or the command with its form or data.',
    { type: 'string' },
    {
      type: 'object',
      properties: {
        ...strings('action', 'node', 'sessionid', 'status'),
        actions: { type: 'object', properties: { execute: { type: 'string' }, next: { type: 'boolean' }, prev: { type: 'boolean' }, complete: { type: 'boolean' } } },
        note: { type: 'object', properties: strings('type', 'text') },
        form: DATA_FORM,
        data: { type: 'object', description: 'Field values to submit, by var.' },
      },
    },
  ),
  lastactivity: obj('Last activity (XEP-0012): seconds and a status in the answer.', { seconds: { type: 'integer' }, status: { type: 'string' } }),
  result: obj("The end of an archive query's results (XEP-0313).", { complete: { type: 'boolean' }, stable: { type: 'boolean' }, page: RSM }),
  oob: obj('Out-of-band data to fetch (XEP-0066).', strings('url', 'desc')),
  register: obj('In-band registration (XEP-0077).', strings('instructions', 'username', 'password', 'nick', 'name', 'first', 'last', 'email', 'address', 'city', 'state', 'zip', 'phone', 'url', 'date', 'misc', 'text', 'key')),
  upload_request: obj('An HTTP upload slot request (XEP-0363).', { filename: { type: 'string' }, size: { type: 'integer' }, 'content-type': { type: 'string' } }),
  upload_slot: obj('An HTTP upload slot (XEP-0363); answers only.', {
    put: { type: 'object', properties: { url: { type: 'string' }, headers: { type: 'array', items: { type: 'object', properties: strings('name', 'value') } } } },
    get: { type: 'object', properties: strings('url') },
  }),
  blocklist: list('The blocked JIDs (XEP-0191).', { type: 'string' }),
  block: list('JIDs to block (XEP-0191).', { type: 'string' }),
  unblock: list('JIDs to unblock (XEP-0191); none for all.', { type: 'string' }),
  extdisco: obj('External services, e.g. STUN and TURN (XEP-0215).', {
    type: { type: 'string' },
    services: { type: 'array', items: { type: 'object', properties: { ...strings('expires', 'host', 'name', 'password', 'transport', 'type', 'username'), port: { type: 'integer' }, restricted: { type: 'boolean' } } } },
  }),
  stats: list('Statistics (XEP-0039).', { type: 'object', properties: { ...strings('name', 'unit'), value: { type: 'number' } } }),
};

/** The kinds whose table has the key. */
function kindsOf(key: string): string[] {
  return KINDS.filter((kind) => key in FIELDS[kind]);
}

function stanzaSchema(): Schema {
  const payloads: Record<string, Schema> = {};
  for (const key of [...new Set(KINDS.flatMap((kind) => Object.keys(FIELDS[kind])))].sort()) {
    const schema = PAYLOAD_SCHEMAS[key] ?? { description: 'Not described yet.' };
    payloads[key] = { ...schema, description: `${String(schema.description)} (${kindsOf(key).join(', ')})` };
  }
  return {
    type: 'object',
    description:
      "A stanza in Prosody's JSON mapping: the stanza's attributes and one key per payload element. The kind is implied by the type or " +
      'a payload key when absent (message by default); an iq has exactly one payload. Unknown keys are ignored.',
    properties: {
      kind: { type: 'string', enum: [...KINDS], description: 'The stanza kind.' },
      type: { type: 'string', description: 'The stanza type: chat, normal, headline, groupchat; available, unavailable, subscribe, ...; get, set, result; error.' },
      to: str('The destination JID.'),
      from: str("The sender's JID: the account's own bare or full JID, or absent (the account's bare JID)."),
      id: str('The stanza id (an iq gets one when absent).'),
      lang: str('xml:lang.'),
      error: obj('A stanza error (RFC 6120 §8.3).', { ...strings('type', 'condition', 'text', 'by'), code: { type: 'integer' } }),
      xmpp: list('Several stanzas (answers only).', ref('Stanza')),
      ...payloads,
    },
  };
}

function errorSchema(): Schema {
  const codes = Object.keys(CATALOGUE);
  return {
    type: 'object',
    description: "An error, as Prosody's mod_rest writes one: the HTTP status and the XMPP error (RFC 6120 §8.3).",
    required: ['type', 'code', 'error'],
    properties: {
      type: { const: 'error' },
      code: { type: 'integer', description: 'The HTTP status.' },
      error: {
        type: 'object',
        required: ['type', 'condition', 'text', 'code', 'source', 'id'],
        properties: {
          type: { type: 'string', enum: ['auth', 'cancel', 'continue', 'modify', 'wait'], description: 'The XMPP error type.' },
          condition: { type: 'string', description: 'The XMPP condition.' },
          text: str('What went wrong, in words.'),
          code: { type: 'integer', description: 'The HTTP status.' },
          source: { const: 'mod_rest' },
          id: { type: 'string', enum: codes, description: "The catalogue's code of the answer (errors.ts)." },
        },
      },
    },
  };
}

export function describeApi(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'mod_rest',
      version: '1',
      summary: 'Post XMPP stanzas and ejabberd commands to ejabberd over HTTP.',
      description:
        'The original mod_rest protocol (POST /rest with a stanza or a command line, plain-text answers, no credentials) and the ' +
        "authenticated API, compatible with Prosody's mod_rest (HTTP Basic; XML, JSON or form bodies; answers as Accept asks). " +
        'Browsers: a request a web page of another origin makes a browser send (Sec-Fetch-Site cross-site or same-site, or an ' +
        "Origin other than the request's own) is refused 403 and nothing is done, unless the vhost lists that origin: " +
        'api_allowed_origins for the API, allowed_origins for the original protocol. A listed origin gets CORS: its OPTIONS ' +
        `preflights are answered 204, its answers carry Access-Control-Allow-Origin (the origin itself), Vary: Origin and ` +
        `Access-Control-Expose-Headers: ${CORS_EXPOSED_HEADERS.join(', ')}; never Access-Control-Allow-Credentials. It must send a ` +
        'Bearer token: Basic credentials from a page are refused 403 (a browser adds those it once prompted for by itself). ' +
        'Every operation may also get the answers ejabberd\'s mod_rest gives on its own (limits, the worker unavailable), in plain text.',
      license: { name: 'GPL-2.0-or-later', identifier: 'GPL-2.0-or-later' },
    },
    servers: [{ url: '/rest', description: 'Where the request handler is mounted (listen: request_handlers: /rest: mod_rest).' }],
    tags: [
      { name: 'original', description: 'The original protocol: no credentials, plain-text answers.' },
      { name: 'api', description: "The authenticated API (Prosody's mod_rest)." },
      { name: 'meta', description: 'This description.' },
      { name: 'ops', description: 'For operators: metrics and a health check, answered by ejabberd itself.' },
      { name: 'cors', description: 'CORS preflights of browser apps on the origins a vhost lists.' },
      { name: 'other', description: 'Any other method or path: not an operation, but answered all the same.' },
    ],
    paths: paths(),
    components: {
      schemas: {
        Stanza: stanzaSchema(),
        StanzaForm: {
          type: 'object',
          description: 'The keys of Stanza as form fields whose values are strings (true as an empty value).',
          additionalProperties: { type: 'string' },
        },
        Error: errorSchema(),
        BatchAnswer: {
          type: 'object',
          required: ['sent', 'refused', 'results'],
          properties: {
            sent: { type: 'integer', description: 'How many items were sent.' },
            refused: { type: 'integer', description: 'How many items were refused.' },
            results: {
              type: 'array',
              description: 'One per item, in the order of the batch.',
              items: {
                type: 'object',
                required: ['status'],
                properties: {
                  status: { type: 'integer', description: '202: sent; otherwise the status this item alone would have had.' },
                  id: { type: 'string', description: 'The id of the stanza sent (with 202).' },
                  error: { type: 'string', description: 'Otherwise, the refusal\'s code: one of the catalogue (as Error\'s error.id).' },
                },
              },
            },
          },
        },
      },
      responses: otherResponses(),
      headers: {
        'WWW-Authenticate': { description: 'The schemes accepted: Basic and Bearer, the realm the vhost (RFC 9110 §11.6.1).', schema: { type: 'string' } },
        'Retry-After': { description: 'Seconds to wait before trying again (RFC 9110 §10.2.3).', schema: { type: 'integer' } },
        Allow: { description: 'The methods the path answers (RFC 9110 §10.2.1).', schema: { type: 'string' } },
        'X-Stanza-Id': { description: "The id of the stanza sent (its own, or the one mod_rest gave it before routing).", schema: { type: 'string' } },
        'Idempotent-Replayed': { description: 'true: the kept answer to an earlier request with the same Idempotency-Key; nothing was done again.', schema: { const: 'true' } },
        'Access-Control-Allow-Origin': { description: 'The listed origin of the request (Fetch standard, CORS protocol); with Vary: Origin.', schema: { type: 'string' } },
        'Access-Control-Allow-Methods': { description: `${CORS_METHODS.join(', ')}.`, schema: { type: 'string' } },
        'Access-Control-Allow-Headers': { description: `${CORS_REQUEST_HEADERS.join(', ')}.`, schema: { type: 'string' } },
        'Access-Control-Max-Age': { description: 'Seconds a browser may keep the preflight\'s answer.', schema: { type: 'integer' } },
      },
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic', description: 'A local account, `user` (of the vhost) or `user@vhost`, and its password.' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An OAuth 2.0 access token (RFC 6750).' },
      },
    },
  };
}
