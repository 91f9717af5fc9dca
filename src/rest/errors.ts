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
  | 'BAD_AUTH_SYNTAX'
  | 'TOO_MANY_ELEMENTS'
  | 'TOO_MANY_ARGUMENTS'
  | 'BAD_JSON'
  | 'BAD_JSON_STANZA'
  | 'BAD_ARCHIVE_QUERY';

export interface CatalogueEntry {
  readonly status: number;
  readonly body: string;
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
  BAD_AUTH_SYNTAX: { status: 400, body: 'Error: --auth needs USER HOST PASSWORD before the command.' },
  // Work bounds: one client's huge request must not stall everyone else's (parsing stops there).
  TOO_MANY_ELEMENTS: { status: 413, body: 'Error: the stanza has more elements than max_xml_elements.' },
  TOO_MANY_ARGUMENTS: { status: 413, body: 'Error: the command line has more arguments than max_command_args.' },
  // The authenticated API's JSON and form bodies (Prosody's mapping).
  BAD_JSON: { status: 400, body: 'Error: the JSON body does not parse.' },
  BAD_JSON_STANZA: { status: 422, body: 'Error: the JSON body is not a stanza Prosody\'s mapping knows.' },
  // GET /rest/archive/{to}: the query string's max.
  BAD_ARCHIVE_QUERY: { status: 400, body: 'Error: the archive query\'s max is not a whole number.' },
});

/** The answer to anything that is not a RestError: a defect in the worker, never the client's fault. */
export const INTERNAL_ERROR: CatalogueEntry = Object.freeze({
  status: 500,
  body: 'Error: internal error in the REST worker.',
});

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
export const badAuthSyntax = (): RestError => new RestError('BAD_AUTH_SYNTAX');
export const tooManyElements = (): RestError => new RestError('TOO_MANY_ELEMENTS');
export const tooManyArguments = (): RestError => new RestError('TOO_MANY_ARGUMENTS');
export const badJson = (cause?: unknown): RestError => new RestError('BAD_JSON', undefined, cause === undefined ? undefined : { cause });
export const badJsonStanza = (reason: string): RestError => new RestError('BAD_JSON_STANZA', reason);
export const badArchiveQuery = (reason: string): RestError => new RestError('BAD_ARCHIVE_QUERY', reason);

/** Turn anything thrown into the HTTP answer for it: a RestError keeps its own, anything else is 500. */
export function toAnswer(err: unknown): Action {
  if (err instanceof RestError) {
    return { kind: 'answer', status: err.status, body: err.body };
  }
  return { kind: 'answer', status: INTERNAL_ERROR.status, body: INTERNAL_ERROR.body };
}
