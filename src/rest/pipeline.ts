// SPDX-License-Identifier: GPL-2.0-or-later
// The request pipeline: one HTTP request in, one Action out. Checks run in a fixed order and return
// early; nothing here throws: every failure becomes an answer through errors.toAnswer.
//   (a) method and path -> (b) peer IP -> (c) classify (stanza or command)
//   -> (d) stanza: parse, stanza type, from (present, allowed sender), destination -> route
//   -> (e) command: split, --auth -> command

import { compileIpPolicy, type IpMatcher } from './access.js';
import { isArchivePath, stanzaForPath } from './api-paths.js';
import { parseFormBody, parseJsonBody, stanzaFromJson } from './jsonmap.js';
import { parseCommand } from './command-line.js';
import { noFrom, notConfigured, notPost, rejected, senderNotAllowed, toAnswer } from './errors.js';
import { compileJidPolicy, type JidMatcher } from './jid.js';
import { MAX_COMMAND_ARGS } from './command-line.js';
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS, parseStanza } from './stanza.js';
import type { Action, HostPolicy, RestRequest, XmlElement } from './types.js';

/** A HostPolicy compiled once per configuration change, consulted per request. */
export interface CompiledPolicy {
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
}

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
  };
}

const LT = 0x3c; // '<'
const STANZA_NAMES: ReadonlySet<string> = new Set(['message', 'presence', 'iq']);

/**
 * True when the body is XML: its first byte after an optional UTF-8 BOM and XML whitespace is '<'.
 * (The original looked at the very first byte only, so leading whitespace sent XML down the
 * command path: a fixed defect.)
 */
export function looksLikeXml(body: Buffer): boolean {
  let i = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (i < body.length) {
    const b = body[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return b === LT;
    i++;
  }
  return false;
}

/** A JSON or form body of the authenticated API, mapped to its stanza; null for any other body. */
function mappedBody(req: RestRequest): XmlElement | null {
  if (req.contentType === 'application/json') return stanzaFromJson(parseJsonBody(req.body));
  if (req.contentType === 'application/x-www-form-urlencoded') return stanzaFromJson(parseFormBody(req.body));
  return null;
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
  try {
    const api = req.api === true;
    const atRoot = req.method === 'POST' && req.path.length === 0;
    if (!atRoot && !api) throw notPost();
    if (!(api ? policy.apiIpAllowed : policy.ipAllowed)(req.ip)) throw rejected('ip not allowed');
    const mapped = api && atRoot ? mappedBody(req) : null;
    if (atRoot && mapped === null && !looksLikeXml(req.body)) return parseCommand(req.body, policy.maxCommandArgs);

    // POST /rest/echo: the posted stanza, as it would be sent.
    const echo = api && req.method === 'POST' && req.path.length === 1 && req.path[0] === 'echo';
    const stanza =
      mapped ?? (atRoot || echo ? parseStanza(req.body, policy.maxXmlDepth, policy.maxXmlElements) : stanzaForPath(req));
    let from: string | undefined;
    let to: string | undefined;
    for (const [name, value] of stanza.attrs) {
      if (name === 'from') from = value;
      else if (name === 'to') to = value;
    }
    if (policy.stanzaTypes !== null && !policy.stanzaTypes.has(stanza.name)) {
      throw rejected('stanza type not allowed');
    }
    // Only real stanzas need a sender: other elements go on to ejabberd's XMPP codec, which
    // refuses them as the original did (500 "Error: xmpp_codec"). In the authenticated API the
    // sender is the account: the stub stamps or checks `from`.
    if (STANZA_NAMES.has(stanza.name) && !api) {
      if (from === undefined || from === '') throw noFrom();
      if (policy.senderAllowed !== null && !policy.senderAllowed(from)) throw senderNotAllowed();
    }
    if (policy.destinationAllowed !== null) {
      if (to === undefined) throw rejected('missing to');
      if (!policy.destinationAllowed(to)) throw rejected('destination not allowed');
    }
    if (echo) return { kind: 'echo', stanza };
    if (api && isArchivePath(req)) return { kind: 'archive', stanza };
    return api ? { kind: 'send', stanza } : { kind: 'route', stanza };
  } catch (err) {
    try {
      onError?.(err);
    } catch {
      // A failing observer must not cost the client its answer.
    }
    return toAnswer(err);
  }
}
