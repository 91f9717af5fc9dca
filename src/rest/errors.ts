// SPDX-License-Identifier: GPL-2.0-or-later
// The one catalogue of answers the worker gives on its own, and the one place that turns any thrown
// value into an HTTP answer. Bodies are kept byte-for-byte where the original mod_rest had them
// (compatibility shim: clients match on this text); the 400 answers are new (they replace crashes).

import type { Action } from './types.js';

/** Stable identifiers of the answers below; safe to log, test and document. */
export type RestErrorCode =
  | 'NOT_POST'
  | 'NO_SUCH_PATH'
  | 'NOT_CONFIGURED'
  | 'REJECTED'
  | 'NO_FROM'
  | 'SENDER_NOT_ALLOWED'
  | 'BAD_UTF8_COMMAND'
  | 'EMPTY_COMMAND'
  | 'JSON_WITHOUT_TYPE'
  | 'BAD_AUTH_SYNTAX'
  | 'TOO_MANY_ELEMENTS'
  | 'TOO_MANY_ARGUMENTS'
  | 'COMMAND_TOO_LONG'
  | 'STANZA_TOO_LARGE'
  | 'JSON_TOO_LARGE'
  | 'BAD_JSON'
  | 'BAD_JSON_STANZA'
  // Browsers (browser.ts): a page of another origin, not listed.
  | 'LEGACY_ORIGIN_NOT_ALLOWED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'BROWSER_BASIC'
  // The authenticated API's own (rendered as its caller's Accept asks: text, JSON or XML).
  | 'NO_CREDENTIALS'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_WELL_FORMED'
  | 'BAD_PATH_BODY'
  | 'IP_NOT_ALLOWED'
  | 'IQ_PAYLOADS'
  | 'BAD_NAMESPACE'
  | 'BAD_ARCHIVE_QUERY'
  | 'NOT_OWN_ARCHIVE'
  | 'BEARER_COMMAND'
  | 'INTERNAL'
  // Refusals the stub decides in the VM and asks the worker to render (`{render, Id, #{error}}`).
  | 'INVALID_CREDENTIALS'
  | 'API_ACCESS_DENIED'
  | 'C2S_ACCESS_DENIED'
  | 'FROM_NOT_ACCOUNT'
  | 'NOT_A_STANZA'
  | 'INVALID_STANZA'
  | 'NO_TO'
  | 'IQ_TYPE'
  | 'HOOK_DROPPED'
  | 'CREDENTIALS_TWICE'
  | 'AUTH_RATE_LIMITED'
  | 'UNEXPECTED_SENDER'
  | 'IQ_TIMEOUT'
  | 'IQ_WAITS_ACCOUNT'
  | 'IQ_WAITS_NODE'
  // Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), decided by mod_rest_idempotency.
  | 'IDEMPOTENCY_KEY_INVALID'
  | 'IDEMPOTENCY_KEY_IN_FLIGHT'
  | 'IDEMPOTENCY_KEY_REUSED'
  // Many stanzas in one request (batch.ts): the whole request's bound, then one item's refusals.
  | 'BATCH_TOO_MANY_ITEMS'
  | 'BATCH_TOO_LARGE'
  | 'BATCH_IQ'
  | 'BATCH_RATE_LIMITED';

export interface CatalogueEntry {
  readonly status: number;
  readonly body: string;
  /** The XMPP condition and error type of its JSON and XML renderings; by status when absent. */
  readonly condition?: string;
  readonly type?: string;
  /** Seconds for the Retry-After header of a refusal that passes with time. */
  readonly retryAfter?: number;
}

export const CATALOGUE: Readonly<Record<RestErrorCode, CatalogueEntry>> = Object.freeze({
  // Compatibility: the original answered 200 with this text to anything but POST /rest.
  NOT_POST: { status: 200, body: 'Try POSTing a stanza.' },
  // The authenticated API has paths of its own; anything else there is unknown.
  NO_SUCH_PATH: { status: 404, body: 'Error: no such path in the REST API.' },
  // The stub names a vhost it sent no configuration for: never guess its policy.
  NOT_CONFIGURED: { status: 503, body: 'Error: mod_rest is not configured for this host.' },
  // Compatibility: one body for every refusal (IP, malformed XML, destination, type); the reason
  // stays in RestError.reason for the logs.
  REJECTED: { status: 406, body: 'Error: REST request is rejected by service.' },
  NO_FROM: { status: 400, body: "Error: the stanza has no 'from' attribute." },
  // Defect 4 of the original (anyone could post as anyone): names the option that admits more.
  SENDER_NOT_ALLOWED: { status: 403, body: "Error: the stanza's 'from' is not in allowed_senders." },
  BAD_UTF8_COMMAND: { status: 400, body: 'Error: the command line is not valid UTF-8.' },
  EMPTY_COMMAND: { status: 400, body: 'Error: no command given.' },
  // curl -d and Python requests' data= send JSON as a form: no ejabberd command starts with { or [.
  JSON_WITHOUT_TYPE: {
    status: 415,
    body: 'Error: the body is JSON, not a command line: send it with Content-Type: application/json (and credentials).',
    condition: 'bad-format',
    type: 'modify',
  },
  BAD_AUTH_SYNTAX: { status: 400, body: 'Error: --auth needs USER HOST PASSWORD before the command.' },
  // Work bounds: one client's huge request must not stall everyone else's (parsing stops there).
  TOO_MANY_ELEMENTS: { status: 413, body: 'Error: the stanza has more elements than max_xml_elements.' },
  TOO_MANY_ARGUMENTS: { status: 413, body: 'Error: the command line has more arguments than max_command_args.' },
  // Decided in the VM before the body is copied (mod_rest_bounds), and again here for what a body makes.
  COMMAND_TOO_LONG: { status: 413, body: 'Error: the command line is longer than max_command_size.', condition: 'policy-violation' },
  STANZA_TOO_LARGE: { status: 413, body: 'Error: the stanza is larger than api_max_stanza_size.', condition: 'policy-violation' },
  // JSON and form bodies are bounded as XML is, counted before they are parsed.
  JSON_TOO_LARGE: {
    status: 413,
    body: 'Error: the body has more values than max_xml_elements or is nested deeper than max_xml_depth.',
    condition: 'policy-violation',
  },
  // The authenticated API's JSON and form bodies (Prosody's mapping).
  BAD_JSON: { status: 400, body: 'Error: the JSON body does not parse.', condition: 'not-well-formed' },
  BAD_JSON_STANZA: { status: 422, body: 'Error: the JSON body is not a stanza Prosody\'s mapping knows.' },
  // Cross-site request forgery (browser.ts): nothing a page of another origin makes a browser send is done.
  LEGACY_ORIGIN_NOT_ALLOWED: {
    status: 403,
    body: "Error: a web page of another origin may not use this protocol; its origin is not in allowed_origins.",
  },
  ORIGIN_NOT_ALLOWED: {
    status: 403,
    body: "Error: a web page of another origin may not call the API; its origin is not in api_allowed_origins.",
    condition: 'forbidden',
  },
  // A browser adds the Basic credentials it once prompted for by itself: from a page, only a token the app holds.
  BROWSER_BASIC: {
    status: 403,
    body: 'Error: a web page of another origin must authenticate with a Bearer token, not Basic credentials.',
    condition: 'forbidden',
  },
  NO_CREDENTIALS: {
    status: 401,
    body: 'Error: credentials are required: HTTP Basic (an account and its password) or Bearer (an OAuth token).',
    condition: 'not-authorized',
    type: 'auth',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    body: 'Error: unsupported media type: send application/xmpp+xml, application/json, application/x-www-form-urlencoded or text/plain.',
    condition: 'bad-format',
    type: 'cancel',
  },
  NOT_WELL_FORMED: { status: 400, body: 'Error: the body is not one well-formed XML element.', condition: 'not-well-formed' },
  BAD_PATH_BODY: { status: 400, body: 'Error: the body of this path must be UTF-8 text.' },
  IP_NOT_ALLOWED: { status: 403, body: 'Error: api_allowed_ips does not admit this address.', condition: 'forbidden' },
  // RFC 6120 §8.2.3: an iq get or set has exactly one payload.
  IQ_PAYLOADS: { status: 422, body: 'Error: an iq get or set must have exactly one child element.', condition: 'bad-format' },
  // The archive query's max (a query string or JSON value).
  BAD_ARCHIVE_QUERY: { status: 400, body: "Error: the archive query's max is not a whole number." },
  // ejabberd's mod_mam would answer another account's query with the caller's own archive.
  NOT_OWN_ARCHIVE: { status: 403, body: 'Error: an account may only query its own archive.', condition: 'forbidden' },
  // A long-lived token handed to a program sends stanzas; commands need the account's password.
  BEARER_COMMAND: { status: 403, body: 'Error: a Bearer token does not run commands; send Basic credentials or --auth instead.', condition: 'forbidden' },
  BAD_NAMESPACE: { status: 422, body: "Error: a stanza's namespace must be jabber:client (or none).", condition: 'invalid-namespace' },
  INTERNAL: { status: 500, body: 'Error: internal error in the REST worker.', condition: 'internal-server-error' },
  INVALID_CREDENTIALS: { status: 401, body: 'Error: invalid credentials.', condition: 'not-authorized', type: 'auth' },
  API_ACCESS_DENIED: { status: 403, body: 'Error: api_access does not allow this account.', condition: 'not-authorized', type: 'auth' },
  // What ejabberd's c2s listeners refuse (their `access` rule, e.g. `c2s: deny: blocked`), the API refuses too.
  C2S_ACCESS_DENIED: {
    status: 403,
    body: "Error: ejabberd's c2s access rule does not allow this account.",
    condition: 'not-authorized',
    type: 'auth',
  },
  FROM_NOT_ACCOUNT: { status: 403, body: "Error: the stanza's 'from' is not the authenticated account.", condition: 'not-authorized', type: 'auth' },
  NOT_A_STANZA: { status: 422, body: 'Error: the element is not a stanza (message, presence or iq).', condition: 'unsupported-stanza-type' },
  INVALID_STANZA: { status: 422, body: 'Error: not a valid stanza.', condition: 'bad-format' },
  NO_TO: { status: 422, body: "Error: the stanza has no 'to'.", condition: 'improper-addressing' },
  IQ_TYPE: { status: 422, body: 'Error: an iq must be of type get or set.', condition: 'invalid-xml' },
  HOOK_DROPPED: { status: 403, body: "Error: the stanza was dropped by the server's user_send_packet hooks.", condition: 'policy-violation' },
  CREDENTIALS_TWICE: { status: 400, body: 'Error: give credentials once: in the Authorization header or with --auth.' },
  AUTH_RATE_LIMITED: {
    status: 429,
    body: 'Error: too many failed --auth attempts from this address; try again in a minute.',
    condition: 'policy-violation',
    type: 'wait',
    retryAfter: 60,
  },
  UNEXPECTED_SENDER: { status: 502, body: 'Error: the iq was answered by an unexpected sender.', condition: 'undefined-condition' },
  IQ_TIMEOUT: { status: 504, body: 'Error: no answer to the iq in time.', condition: 'remote-server-timeout', type: 'wait' },
  // Each iq holds an HTTP connection and a process until its reply: bounded per account and per node.
  IQ_WAITS_ACCOUNT: {
    status: 429,
    body: 'Error: too many iqs of this account are waiting for their replies (max_iq_waits_per_account); try again later.',
    condition: 'policy-violation',
    type: 'wait',
    retryAfter: 5,
  },
  IQ_WAITS_NODE: {
    status: 503,
    body: 'Error: too many iqs are waiting for their replies on this node (max_iq_waits); try again later.',
    condition: 'resource-constraint',
    type: 'wait',
    retryAfter: 5,
  },
  IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    body: 'Error: the Idempotency-Key header must be one key of 1 to 255 printable ASCII characters.',
    condition: 'bad-request',
  },
  IDEMPOTENCY_KEY_IN_FLIGHT: {
    status: 409,
    body: 'Error: a request with this Idempotency-Key is still being carried out; try again.',
    condition: 'conflict',
    type: 'wait',
  },
  IDEMPOTENCY_KEY_REUSED: { status: 422, body: 'Error: this Idempotency-Key was used for another request.', condition: 'conflict' },
  BATCH_TOO_MANY_ITEMS: { status: 413, body: 'Error: the batch has more items than api_max_batch_items; nothing was sent.', condition: 'policy-violation' },
  BATCH_TOO_LARGE: { status: 413, body: 'Error: the batch is larger than api_max_batch_size; nothing was sent.', condition: 'policy-violation' },
  // An iq's answer is its reply, which a batch's answer has no place for: send it alone.
  BATCH_IQ: { status: 422, body: 'Error: an iq cannot be sent in a batch; send it alone.', condition: 'not-acceptable' },
  // rate_limit_per_ip counts a batch's stanzas: those past the second's limit are refused, the others sent.
  BATCH_RATE_LIMITED: { status: 429, body: 'Error: this item of the batch is past rate_limit_per_ip; send it again in a second.', retryAfter: 1 },
});

/** The codes the stub may ask the worker to render: never one that request data could name. */
export const VM_CODES: ReadonlySet<RestErrorCode> = new Set<RestErrorCode>([
  'INVALID_CREDENTIALS', 'API_ACCESS_DENIED', 'FROM_NOT_ACCOUNT', 'NOT_A_STANZA', 'INVALID_STANZA', 'NO_TO',
  'IQ_TYPE', 'HOOK_DROPPED', 'CREDENTIALS_TWICE', 'AUTH_RATE_LIMITED', 'UNEXPECTED_SENDER', 'IQ_TIMEOUT',
  'NOT_OWN_ARCHIVE', 'BEARER_COMMAND', 'IQ_WAITS_ACCOUNT', 'IQ_WAITS_NODE', 'IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_KEY_IN_FLIGHT',
  'IDEMPOTENCY_KEY_REUSED', 'COMMAND_TOO_LONG', 'STANZA_TOO_LARGE', 'BATCH_TOO_LARGE',
  // The account's own vhost's policy, applied in the VM when the Host header chose another.
  'C2S_ACCESS_DENIED', 'IP_NOT_ALLOWED', 'REJECTED',
]);

/** The answer to anything that is not a RestError: a defect in the worker, never the client's fault. */
export const INTERNAL_ERROR: CatalogueEntry = CATALOGUE.INTERNAL;

/** Why a REJECTED request was rejected (for logs only; the client always sees the same body). */
export type RejectReason =
  | 'ip not allowed'
  | 'invalid utf-8'
  | 'doctype'
  | 'processing instruction'
  | 'too deep'
  | 'multiple roots'
  | 'text outside root'
  | 'no root'
  | 'malformed xml'
  | 'destination not allowed'
  | 'stanza type not allowed'
  | 'missing to';

export class RestError extends Error {
  readonly code: RestErrorCode;
  readonly status: number;
  readonly body: string;
  /** Internal detail for logs; never sent to the client. Defaults to the code. */
  readonly reason: string;

  constructor(code: RestErrorCode, reason?: string, options?: { cause?: unknown }) {
    const why = reason ?? code;
    // An expected refusal, not a defect: capturing a stack trace cost ~5 us, a quarter of the
    // worker's time on a refused request, and no log line uses it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(`${code}: ${why}`, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'RestError';
    this.code = code;
    this.status = CATALOGUE[code].status;
    this.body = CATALOGUE[code].body;
    this.reason = why;
  }
}

export const notPost = (): RestError => new RestError('NOT_POST');
export const noSuchPath = (): RestError => new RestError('NO_SUCH_PATH');
export const notConfigured = (): RestError => new RestError('NOT_CONFIGURED');
export const rejected = (reason: RejectReason, cause?: unknown): RestError =>
  new RestError('REJECTED', reason, cause === undefined ? undefined : { cause });
export const noFrom = (): RestError => new RestError('NO_FROM');
export const senderNotAllowed = (): RestError => new RestError('SENDER_NOT_ALLOWED');
export const badUtf8Command = (cause?: unknown): RestError =>
  new RestError('BAD_UTF8_COMMAND', undefined, cause === undefined ? undefined : { cause });
export const emptyCommand = (): RestError => new RestError('EMPTY_COMMAND');
export const jsonWithoutType = (): RestError => new RestError('JSON_WITHOUT_TYPE');
export const badAuthSyntax = (): RestError => new RestError('BAD_AUTH_SYNTAX');
export const tooManyElements = (): RestError => new RestError('TOO_MANY_ELEMENTS');
export const tooManyArguments = (): RestError => new RestError('TOO_MANY_ARGUMENTS');
export const commandTooLong = (): RestError => new RestError('COMMAND_TOO_LONG');
export const stanzaTooLarge = (): RestError => new RestError('STANZA_TOO_LARGE');
export const jsonTooLarge = (reason: string): RestError => new RestError('JSON_TOO_LARGE', reason);
export const badJson = (cause?: unknown): RestError => new RestError('BAD_JSON', undefined, cause === undefined ? undefined : { cause });
export const badJsonStanza = (reason: string): RestError => new RestError('BAD_JSON_STANZA', reason);
export const badArchiveQuery = (reason: string): RestError => new RestError('BAD_ARCHIVE_QUERY', reason);
export const badNamespace = (): RestError => new RestError('BAD_NAMESPACE');
export const notAStanza = (): RestError => new RestError('NOT_A_STANZA');
export const iqPayloads = (): RestError => new RestError('IQ_PAYLOADS');
export const noCredentials = (): RestError => new RestError('NO_CREDENTIALS');
export const unsupportedMediaType = (type: string): RestError => new RestError('UNSUPPORTED_MEDIA_TYPE', type);
export const batchTooManyItems = (): RestError => new RestError('BATCH_TOO_MANY_ITEMS');
export const batchTooLarge = (): RestError => new RestError('BATCH_TOO_LARGE');
export const batchIq = (): RestError => new RestError('BATCH_IQ');
export const badPathBody = (cause?: unknown): RestError => new RestError('BAD_PATH_BODY', undefined, cause === undefined ? undefined : { cause });

/** The XMPP condition and error type of an entry (RFC 6120 §8.3.3), from its status when it names none. */
export function conditionOf(entry: CatalogueEntry): { condition: string; type: string } {
  const s = entry.status;
  const condition =
    entry.condition ??
    (s === 401 ? 'not-authorized' : s === 403 ? 'forbidden' : s === 404 ? 'item-not-found' : s === 406 ? 'not-acceptable'
      : s === 413 ? 'resource-constraint' : s === 429 ? 'policy-violation' : s === 503 ? 'service-unavailable'
      : s === 504 ? 'remote-server-timeout' : s >= 500 ? 'internal-server-error' : 'bad-request');
  const type = entry.type ?? (s === 401 || s === 403 ? 'auth' : s === 429 || s === 503 || s === 504 ? 'wait' : s >= 500 ? 'cancel' : 'modify');
  return { condition, type };
}

/** Turn anything thrown into the HTTP answer for it: a RestError keeps its own, anything else is 500. */
export function toAnswer(err: unknown): Action {
  if (err instanceof RestError) {
    return { kind: 'answer', status: err.status, body: err.body };
  }
  return { kind: 'answer', status: INTERNAL_ERROR.status, body: INTERNAL_ERROR.body };
}

/** What a malformed body was refused for in the original protocol (406); in the API it is a 400. */
const PARSE_REASONS: ReadonlySet<string> = new Set<RejectReason>([
  'invalid utf-8', 'doctype', 'processing instruction', 'too deep', 'multiple roots', 'text outside root', 'no root', 'malformed xml',
]);

/**
 * The catalogue entry an API request's failure is answered with. The original's one body for
 * every refusal (406) is a compatibility shim: the API says what went wrong.
 */
export function apiError(err: unknown): { code: RestErrorCode; detail?: string } {
  if (!(err instanceof RestError)) return { code: 'INTERNAL' };
  if (err.code === 'REJECTED' && err.reason === 'ip not allowed') return { code: 'IP_NOT_ALLOWED' };
  if (err.code === 'REJECTED' && PARSE_REASONS.has(err.reason)) return { code: 'NOT_WELL_FORMED', detail: err.reason };
  if (err.code === 'BAD_JSON_STANZA') return { code: err.code, detail: err.reason };
  return { code: err.code };
}

/**
 * Why a webhook call (`{webhook, Id, ...}`, src/webhook/call.ts) produced no usable answer: the
 * Reason of `{webhook_failed, Reason, Detail}`. The stub decides what the stanza's sender gets
 * (mod_rest_webhook:outcome/3): `unreachable` is retried for messages, the others never.
 */
export type WebhookFailure = 'unreachable' | 'timeout' | 'bad_answer' | 'too_large';

/** The words of each failure, for ejabberd's log (Detail adds the particulars). */
export const WEBHOOK_FAILURES: Readonly<Record<WebhookFailure, string>> = Object.freeze({
  unreachable: 'the service could not be reached',
  timeout: 'the service did not answer within the deadline',
  bad_answer: 'the service answered with no usable stanza',
  too_large: 'the service answered with a body larger than the limit',
});
