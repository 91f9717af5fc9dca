// SPDX-License-Identifier: GPL-2.0-or-later
// Requests from web browsers: cross-site request forgery refused, CORS for listed origins.
//
// A browser marks what a page makes it send: `Origin` (the page's scheme://host:port, `null` for
// sandboxed frames and file pages) and, since 2020-2023 in every engine, `Sec-Fetch-Site`. Pages
// cannot forge either. curl, PHP, Python and every client of the original protocol send neither,
// so they are never affected here.
//
// A request is cross-origin when Sec-Fetch-Site says `cross-site` or `same-site`; when a browser
// sends no Sec-Fetch-Site, when its Origin differs from the request's own origin (the listener's
// scheme and the Host header). Sec-Fetch-Site wins where both are present: behind a TLS-terminating
// proxy the request's own scheme is not the page's, and the browser knows better.
// A cross-origin request is refused unless its Origin is listed: api_allowed_origins for the
// authenticated API, allowed_origins for the original protocol (whose text/plain form posts are
// the classic forgery: a form's field name and value concatenate into a stanza). `null` is never
// listed, not even by `all`: any page can make a sandboxed frame that sends it.
// A listed origin must authenticate with a Bearer token: a browser adds Basic credentials it once
// prompted for by itself, to whatever request any page of that origin makes, which is exactly the
// forgery this refuses. The answers never say Access-Control-Allow-Credentials, so a page cannot
// read what cached credentials would do either.

import { RestError } from './errors.js';
import type { RestRequest } from './types.js';

/** The request headers a browser app may send (the API reads these; the browser allows the rest). */
export const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Prosody-Rest-Timeout', 'Idempotency-Key'] as const;
/** The methods of the API (api-paths.ts). */
export const CORS_METHODS = ['GET', 'POST'] as const;
/** The answer headers a browser app may read besides the CORS-safelisted ones (Content-Type...). */
export const CORS_EXPOSED_HEADERS = ['Retry-After', 'WWW-Authenticate', 'X-Stanza-Id', 'Idempotent-Replayed'] as const;
/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours): an option change reaches it in 10 minutes. */
export const CORS_MAX_AGE_SECONDS = 600;

/** An allowlist of origins (options allowed_origins and api_allowed_origins): null when `all`. */
export type OriginList = ReadonlySet<string> | null;

/**
 * An origin as browsers serialise it (RFC 6454 §6.2): scheme and host lower case, the port only
 * when not the scheme's default. undefined for anything else (paths, `null`, other schemes).
 */
export function normalizeOrigin(text: string): string | undefined {
  const m = /^(https?):\/\/([^/?#@\s]+)$/i.exec(text.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  let host = m[2]!.toLowerCase();
  const defaultPort = scheme === 'https' ? ':443' : ':80';
  if (host.endsWith(defaultPort)) host = host.slice(0, -defaultPort.length);
  return `${scheme}://${host}`;
}

/** An option's list, normalised; entries that are not origins go to onInvalid and admit nothing. */
export function compileOrigins(list: readonly string[] | null, onInvalid: (entry: string) => void): OriginList {
  if (list === null) return null;
  const set = new Set<string>();
  for (const entry of list) {
    const origin = normalizeOrigin(entry);
    if (origin === undefined) onInvalid(entry);
    else set.add(origin);
  }
  return set;
}

/** What the pipeline does with a request, as far as browsers are concerned. */
export type BrowserDecision =
  /** Not a cross-origin browser request (or a public document): handled as always, no CORS headers. */
  | { kind: 'plain' }
  /** A listed origin's request: handled as always, its answer carries these headers. */
  | { kind: 'cors'; headers: Array<[string, string]> }
  /** A listed origin's preflight (OPTIONS with Access-Control-Request-Method): 204 with these headers. */
  | { kind: 'preflight'; headers: Array<[string, string]> }
  /** Refused: nothing is done. With headers (a listed origin's), the page may read why. */
  | { kind: 'refuse'; error: RestError; headers?: Array<[string, string]> };

export interface BrowserPolicy {
  /** Option api_allowed_origins. */
  readonly apiOrigins: OriginList;
  /** Option allowed_origins (the original protocol). */
  readonly legacyOrigins: OriginList;
}

const CROSS_SITES: ReadonlySet<string> = new Set(['cross-site', 'same-site']);

/** What a browser marks on a request, as the stub reads it (mod_rest_browser.erl). */
export type BrowserFields = Pick<RestRequest, 'origin' | 'fetchSite' | 'ownOrigin' | 'authScheme'>;
/** What the decision reads of a request. */
type BrowserRequest = BrowserFields & Pick<RestRequest, 'method' | 'path'>;

/** Whether a browser says the request comes from a page of another origin. */
export function isCrossOrigin(req: BrowserFields): boolean {
  if (req.fetchSite !== undefined) return CROSS_SITES.has(req.fetchSite.toLowerCase());
  if (req.origin === undefined) return false;
  const own = req.ownOrigin === undefined ? undefined : normalizeOrigin(req.ownOrigin);
  return own === undefined || normalizeOrigin(req.origin) !== own;
}

function listed(origin: string | undefined, list: OriginList): boolean {
  if (origin === undefined) return false;
  return list === null || list.has(origin);
}

/**
 * The decision for one request. `api` says which protocol it belongs to (pipeline.isApiRequest);
 * `isPublic`: a document anyone may read (the OpenAPI description), never refused.
 */
export function browserDecision(req: BrowserRequest, api: boolean, isPublic: boolean, policy: BrowserPolicy): BrowserDecision {
  if (!isCrossOrigin(req)) return { kind: 'plain' };
  // `null` and malformed origins are never listed: normalizeOrigin gives undefined.
  const origin = req.origin === undefined ? undefined : normalizeOrigin(req.origin);
  const corsHeaders = (): Array<[string, string]> => [
    ['Access-Control-Allow-Origin', origin!],
    ['Vary', 'Origin'],
    ['Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS.join(', ')],
  ];
  if (req.method === 'OPTIONS') {
    // A preflight cannot say which protocol its request will be: POST /rest is both.
    const admitted = listed(origin, policy.apiOrigins) || (req.path.length === 0 && listed(origin, policy.legacyOrigins));
    if (!admitted) return { kind: 'refuse', error: new RestError('ORIGIN_NOT_ALLOWED', `preflight from ${origin ?? 'no origin'}`) };
    return {
      kind: 'preflight',
      headers: [
        ['Access-Control-Allow-Origin', origin!],
        ['Vary', 'Origin'],
        ['Access-Control-Allow-Methods', CORS_METHODS.join(', ')],
        ['Access-Control-Allow-Headers', CORS_REQUEST_HEADERS.join(', ')],
        ['Access-Control-Max-Age', String(CORS_MAX_AGE_SECONDS)],
      ],
    };
  }
  if (api) {
    if (!listed(origin, policy.apiOrigins)) {
      return isPublic ? { kind: 'plain' } : { kind: 'refuse', error: new RestError('ORIGIN_NOT_ALLOWED', `from ${origin ?? 'no origin'}`) };
    }
    if (req.authScheme === 'basic') return { kind: 'refuse', error: new RestError('BROWSER_BASIC', `from ${origin}`), headers: corsHeaders() };
    return { kind: 'cors', headers: corsHeaders() };
  }
  if (!listed(origin, policy.legacyOrigins)) {
    return { kind: 'refuse', error: new RestError('LEGACY_ORIGIN_NOT_ALLOWED', `from ${origin ?? 'no origin'}`) };
  }
  return { kind: 'cors', headers: corsHeaders() };
}

/**
 * The CORS headers of an API answer the stub decided before this worker saw the request, and asks
 * it to render (a refused token's 401, an Idempotency-Key's 409 or 422): those the worker's own
 * answers give a listed origin's page, so that the app can read the refusal rather than a network
 * error. None for anything else: an origin not listed, a page's Basic credentials (the worker
 * refuses those; their refusal stays unreadable), no browser. Never a preflight: the worker
 * answers those itself.
 */
export function corsOfStubAnswer(fields: BrowserFields, policy: BrowserPolicy | undefined): Array<[string, string]> {
  if (policy === undefined) return [];
  const decision = browserDecision({ ...fields, method: 'POST', path: [] }, true, false, policy);
  return decision.kind === 'cors' ? decision.headers : [];
}
