// SPDX-License-Identifier: GPL-2.0-or-later
// The request pipeline: one HTTP request in, one Action out. Checks run in a fixed order and return
// early; nothing here throws: every failure becomes an answer, through errors.toAnswer for the
// original protocol and render.renderError (as Accept asks) for the authenticated API.
//   both, first: a browser's request for a page of another origin (browser.ts): refused unless its
//     origin is listed for that protocol; a listed one's answer carries CORS headers (with_headers)
//   original: (a) POST /rest -> (b) peer IP (allowed_ips) -> (c) classify (stanza or command)
//     -> (d) stanza: parse, stanza type, from (present, allowed sender), destination -> route
//     -> (e) command: split, --auth -> command
//   API: (a) credentials present -> (b) peer IP (api_allowed_ips) -> (c) path and media type
//     -> (d) the stanza (XML, JSON, form, path) -> stanza type, destination -> send / echo
//     -> (e) or a command line -> command (the stub runs it as the account)

import { randomUUID } from 'node:crypto';
import { compileIpPolicy, type IpMatcher } from './access.js';
import { BATCH_MEDIA_TYPES, batchItems, isBatchRequest } from './batch.js';
import { browserDecision, compileOrigins, type BrowserPolicy } from './browser.js';
import { STANZA_KINDS } from './jsonmap-fields.js';
import { attr, child, childElements, writeXml } from './xml-writer.js';
import { bodyAtRoot, isApiPath, looksLikeXml, stanzaForPath } from './api-paths.js';
import { parseCommand } from './command-line.js';
import { apiError, badNamespace, iqPayloads, stanzaTooLarge, noCredentials, notAStanza, noFrom, notConfigured, notPost, rejected, senderNotAllowed, toAnswer } from './errors.js';
import { JSON_TYPE, XMPP_XML } from './negotiate.js';
import { openApiDocument } from './openapi.js';
import { renderError } from './render.js';
import { compileJidPolicy, type JidMatcher } from './jid.js';
import { MAX_COMMAND_ARGS, MAX_COMMAND_SIZE } from './command-line.js';
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS, parseStanza } from './stanza.js';
import type { Action, HostPolicy, RestRequest, XmlElement } from './types.js';

export { looksLikeXml } from './api-paths.js';

/** A HostPolicy compiled once per configuration change, consulted per request. */
export interface CompiledPolicy extends BrowserPolicy {
  readonly ipAllowed: IpMatcher;
  /** Peers admitted to the authenticated API: a separate admission, so that opening one does not open the other. */
  readonly apiIpAllowed: IpMatcher;
  /** null: any destination (and `to` is not required). */
  readonly destinationAllowed: JidMatcher | null;
  /** null: any sender (allowed_senders: all). */
  readonly senderAllowed: JidMatcher | null;
  /** null: any element name. */
  readonly stanzaTypes: ReadonlySet<string> | null;
  /** Configuration entries that did not parse and so admit nothing (for the caller to log). */
  readonly invalidEntries: readonly string[];
  readonly maxXmlDepth: number;
  readonly maxXmlElements: number;
  readonly maxCommandArgs: number;
  readonly apiMaxBatchItems: number;
  readonly apiMaxBatchSize: number;
  readonly maxCommandSize: number;
  readonly apiMaxStanzaSize: number;
}

/** Most stanzas in one batch request (option api_max_batch_items). */
export const API_MAX_BATCH_ITEMS = 1000;
/** Largest batch request in bytes (option api_max_batch_size): one stanza's bound, by default. */
export const API_MAX_BATCH_SIZE = 256 * 1024;

/** c2s's max_stanza_size in Debian's configuration (option api_max_stanza_size). */
export const API_MAX_STANZA_SIZE = 256 * 1024;

export function compilePolicy(p: HostPolicy): CompiledPolicy {
  const invalidEntries: string[] = [];
  const ipAllowed = compileIpPolicy(p.allowedIps, (e) => invalidEntries.push(`allowed_ips: ${e}`));
  return {
    ipAllowed,
    apiIpAllowed:
      p.apiAllowedIps === undefined ? ipAllowed : compileIpPolicy(p.apiAllowedIps, (e) => invalidEntries.push(`api_allowed_ips: ${e}`)),
    destinationAllowed:
      p.allowedDestinations.length === 0
        ? null
        : compileJidPolicy(p.allowedDestinations, (e) => invalidEntries.push(`allowed_destinations: ${e}`)),
    senderAllowed:
      p.allowedSenders === null ? null : compileJidPolicy(p.allowedSenders, (e) => invalidEntries.push(`allowed_senders: ${e}`)),
    stanzaTypes: p.allowedStanzaTypes.length === 0 ? null : new Set(p.allowedStanzaTypes),
    invalidEntries,
    maxXmlDepth: p.maxXmlDepth ?? MAX_XML_DEPTH,
    maxXmlElements: p.maxXmlElements ?? MAX_XML_ELEMENTS,
    maxCommandArgs: p.maxCommandArgs ?? MAX_COMMAND_ARGS,
    apiMaxBatchItems: p.apiMaxBatchItems ?? API_MAX_BATCH_ITEMS,
    apiMaxBatchSize: p.apiMaxBatchSize ?? API_MAX_BATCH_SIZE,
    // A stub that predates the options sends neither: no origin is listed.
    apiOrigins: compileOrigins(p.apiAllowedOrigins === undefined ? [] : p.apiAllowedOrigins, (e) => invalidEntries.push(`api_allowed_origins: ${e}`)),
    legacyOrigins: compileOrigins(p.allowedOrigins === undefined ? [] : p.allowedOrigins, (e) => invalidEntries.push(`allowed_origins: ${e}`)),
    maxCommandSize: p.maxCommandSize ?? MAX_COMMAND_SIZE,
    apiMaxStanzaSize: p.apiMaxStanzaSize ?? API_MAX_STANZA_SIZE,
  };
}

/** Media types no client of the original sends: such a request is the API's, credentials or not. */
const API_MEDIA_TYPES: ReadonlySet<string> = new Set([XMPP_XML, JSON_TYPE, ...BATCH_MEDIA_TYPES]);

/**
 * Whether a request is the authenticated API's: it has credentials, or it is a shape only the
 * API has (a JSON or application/xmpp+xml body, one of the API's paths). Anything else is the
 * original protocol, answered exactly as the original did.
 */
export function isApiRequest(req: RestRequest): boolean {
  if (req.api === true) return true;
  if (req.contentType !== undefined && API_MEDIA_TYPES.has(req.contentType)) return true;
  return req.path.length > 0 && isApiPath(req.method, req.path);
}

/** As handleRequest, for a host whose policy may be unknown: then 503, never a guess. */
export function handleRequestFor(
  req: RestRequest,
  policy: CompiledPolicy | undefined,
  onError?: (err: unknown) => void,
): Action {
  return policy ? handleRequest(req, policy, onError) : toAnswer(notConfigured());
}

/**
 * Decide what to do with one request. Never throws. `onError`, if given, sees every error that
 * became an answer (a RestError carries `code` and the internal `reason`), for the caller to log.
 */
export function handleRequest(
  req: RestRequest,
  policy: CompiledPolicy,
  onError?: (err: unknown) => void,
): Action {
  const api = isApiRequest(req);
  try {
    // Browsers first (browser.ts): a forged request is refused before anything reads it.
    const browser = browserDecision(req, api, isOpenApi(req), policy);
    switch (browser.kind) {
      case 'refuse':
        if (browser.headers === undefined) throw browser.error;
        return { kind: 'with_headers', headers: browser.headers, action: errorAction(req, api, browser.error, onError) };
      case 'preflight':
        return { kind: 'with_headers', headers: browser.headers, action: { kind: 'answer', status: 204, body: '' } };
      case 'cors':
        return { kind: 'with_headers', headers: browser.headers, action: handleRequest({ ...req, origin: undefined, fetchSite: undefined }, policy, onError) };
      case 'plain':
        return api ? handleApiRequest(req, policy) : handleLegacyRequest(req, policy);
    }
  } catch (err) {
    return errorAction(req, api, err, onError);
  }
}

/** The answer to a failure: the original's words, or the API's rendering as Accept asks. */
function errorAction(req: RestRequest, api: boolean, err: unknown, onError?: (err: unknown) => void): Action {
  try {
    onError?.(err);
  } catch {
    // A failing observer must not cost the client its answer.
  }
  if (!api) return toAnswer(err);
  const { code, detail } = apiError(err);
  return renderError(code, { accept: req.accept, contentType: req.contentType, host: req.host }, detail);
}

/** The original protocol: POST /rest with a stanza or a command line. */
function handleLegacyRequest(req: RestRequest, policy: CompiledPolicy): Action {
  if (req.method !== 'POST' || req.path.length !== 0) throw notPost();
  if (!policy.ipAllowed(req.ip)) throw rejected('ip not allowed');
  if (!looksLikeXml(req.body)) return parseCommand(req.body, policy.maxCommandArgs, policy.maxCommandSize);
  const stanza = parseStanza(req.body, policy.maxXmlDepth, policy.maxXmlElements);
  const from = attr(stanza, 'from');
  checkType(stanza, policy);
  // Only real stanzas need a sender: other elements go on to ejabberd's XMPP codec, which
  // refuses them as the original did (500 "Error: xmpp_codec").
  if (STANZA_KINDS.has(stanza.name)) {
    if (from === undefined || from === '') throw noFrom();
    if (policy.senderAllowed !== null && !policy.senderAllowed(from)) throw senderNotAllowed();
  }
  checkDestination(stanza, policy);
  return { kind: 'route', stanza };
}

/**
 * The authenticated API (api-paths.ts has its grammar). The sender is the account the stub
 * authenticates: it stamps or checks `from`; here, the peer, the body and the policy.
 */
function handleApiRequest(req: RestRequest, policy: CompiledPolicy): Action {
  // The API's description is public: a client learns from it how to authenticate.
  if (isOpenApi(req)) return openApiDocument();
  if (req.api !== true) throw noCredentials();
  if (!policy.apiIpAllowed(req.ip)) throw rejected('ip not allowed');
  const atRoot = req.method === 'POST' && req.path.length === 0;
  // A batch has a bound of its own (api_max_batch_size), and each item one stanza's.
  if (atRoot && isBatchRequest(req)) return sendBatch(req, policy);
  // The stub refuses a larger body before copying it (mod_rest_bounds); a stub that predates it does not.
  if (req.body.length > policy.apiMaxStanzaSize) throw stanzaTooLarge();
  const echo = req.method === 'POST' && req.path.length === 1 && req.path[0] === 'echo';
  let parsed: XmlElement;
  if (atRoot || echo) {
    const body = bodyAtRoot(req, policy, atRoot);
    if (body.kind === 'command') return parseCommand(req.body, policy.maxCommandArgs, policy.maxCommandSize);
    parsed = body.stanza;
  } else {
    parsed = stanzaForPath(req, policy);
  }
  const stanza = apiStanza(parsed);
  checkStanzaSize(stanza, req, policy);
  if (stanza.name === 'iq') checkIqPayload(stanza);
  checkType(stanza, policy);
  checkDestination(stanza, policy);
  if (echo) return { kind: 'echo', stanza };
  return isArchiveQuery(stanza) ? { kind: 'archive', stanza } : { kind: 'send', stanza };
}

/** Many stanzas in one request (batch.ts): each checked as one posted alone, refused alone. */
function sendBatch(req: RestRequest, policy: CompiledPolicy): Action {
  const limits = {
    maxItems: policy.apiMaxBatchItems,
    maxBytes: policy.apiMaxBatchSize,
    maxItemSize: policy.apiMaxStanzaSize,
    maxXmlDepth: policy.maxXmlDepth,
    maxXmlElements: policy.maxXmlElements,
  };
  const items = batchItems(req, limits, (parsed) => {
    const stanza = apiStanza(parsed);
    checkType(stanza, policy);
    checkDestination(stanza, policy);
    return stanza;
  });
  return { kind: 'send_batch', items };
}

function isOpenApi(req: RestRequest): boolean {
  return req.method === 'GET' && req.path.length === 1 && req.path[0] === 'openapi.json';
}

/**
 * A stanza of the API, as Prosody takes it: message, presence or iq, in jabber:client (the
 * stream's namespace, RFC 6120 §4.8.3; jabber:server is a server's), with an id: one is made up
 * when absent, so that replies and echoes can name it.
 */
function apiStanza(stanza: XmlElement): XmlElement {
  if (!STANZA_KINDS.has(stanza.name)) throw notAStanza();
  const xmlns = attr(stanza, 'xmlns');
  if (xmlns !== undefined && xmlns !== 'jabber:client') throw badNamespace();
  if (attr(stanza, 'id') !== undefined) return stanza;
  return { ...stanza, attrs: [...stanza.attrs, ['id', randomUUID()]] };
}

/**
 * The stanza a JSON or form body makes can be larger than the body: escaping writes `&` as
 * `&amp;`, a 4-byte JSON item can become `<item jid='a'/>`; never more than 8 times. Only a body
 * that could make a stanza over api_max_stanza_size is written out to be measured.
 */
const MAX_EXPANSION = 8;
function checkStanzaSize(stanza: XmlElement, req: RestRequest, policy: CompiledPolicy): void {
  if (req.body.length * MAX_EXPANSION <= policy.apiMaxStanzaSize) return;
  if (Buffer.byteLength(writeXml(stanza)) > policy.apiMaxStanzaSize) throw stanzaTooLarge();
}

/** RFC 6120 §8.2.3: an iq get or set carries exactly one payload (the stub refuses other types). */
function checkIqPayload(iq: XmlElement): void {
  const type = attr(iq, 'type');
  if ((type === 'get' || type === 'set') && childElements(iq).length !== 1) throw iqPayloads();
}

const MAM = 'urn:xmpp:mam:2';
/** An XEP-0313 query, however it was asked for: its results come as messages, which the stub collects. */
function isArchiveQuery(stanza: XmlElement): boolean {
  return stanza.name === 'iq' && child(stanza, 'query', MAM) !== undefined;
}

function checkType(stanza: XmlElement, policy: CompiledPolicy): void {
  if (policy.stanzaTypes !== null && !policy.stanzaTypes.has(stanza.name)) throw rejected('stanza type not allowed');
}

function checkDestination(stanza: XmlElement, policy: CompiledPolicy): void {
  if (policy.destinationAllowed !== null) {
    const to = attr(stanza, 'to');
    if (to === undefined) throw rejected('missing to');
    if (!policy.destinationAllowed(to)) throw rejected('destination not allowed');
  }
}
