// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API's requests, each turned into the stanza it stands for, with Prosody's
// mod_rest grammar, so that its clients work unchanged:
//   POST /rest                        a stanza: XML, JSON or form fields (or a command line)
//   POST /rest/echo                   the same, answered as it would be sent, not sent
//   POST /rest/{kind}/{type}/{to}     kind message, presence or iq: the body (JSON, form, or text:
//                                     a message's body, a presence's show) with kind, type and to set
//   POST /rest/iq/{payload}/{to}      an iq get of that payload, the body its JSON value
//   GET  /rest/{payload}/{to}?k=v     an iq get of one of GET_QUERIES (archive: a set); the query
//                                     string is the payload's fields
// The stanza then goes through the same checks as a posted one.
import { checkFormBounds, checkJsonBounds, type ParseLimits } from './body-bounds.js';
import { badJsonStanza, badPathBody, noSuchPath, unsupportedMediaType } from './errors.js';
import { FIELDS, isObject, STANZA_KINDS } from './jsonmap-fields.js';
import { parseFormBody, parseJsonBody, stanzaFromJson, type Json, type JsonObject } from './jsonmap.js';
import { fieldBag } from './lookup.js';
import { bodyKind, type BodyKind } from './negotiate.js';
import { parseStanza } from './stanza.js';
import type { RestRequest, XmlElement } from './types.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LT = 0x3c; // '<'

export type ApiBody = { kind: 'stanza'; stanza: XmlElement } | { kind: 'command' };
export type { ParseLimits } from './body-bounds.js';

/** True when the body is XML: its first byte after an optional UTF-8 BOM and XML whitespace is '<'. */
export function looksLikeXml(body: Buffer): boolean {
  let i = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (i < body.length) {
    const b = body[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return b === LT;
    i++;
  }
  return false;
}

/**
 * The payloads a GET can query: iq payloads that are asked for with a get and need no body.
 * Not the others of the mapping: delay, nick, dataform, result and rsm are no queries, command,
 * oob, block and unblock are sets, upload_slot is an answer (a GET of one would be answered 422).
 */
export const GET_QUERIES: readonly string[] = [
  'ping', 'version', 'disco', 'items', 'lastactivity', 'archive', 'register', 'upload_request', 'blocklist', 'extdisco', 'stats',
];
const GET_QUERY_SET: ReadonlySet<string> = new Set(GET_QUERIES);

/** Whether a path is one of the API's (so that a request for it without credentials is told to authenticate). */
export function isApiPath(method: string, path: readonly string[]): boolean {
  const [first, , third] = path;
  if (path.length === 1) return first === 'echo' || first === 'openapi.json';
  if (method === 'GET' && path.length >= 2) return first !== undefined && GET_QUERY_SET.has(first);
  return method === 'POST' && path.length === 3 && third !== undefined && first !== undefined && STANZA_KINDS.has(first);
}

const EQUALS = 0x3d;
function isFormFields(body: Buffer): boolean {
  return body.includes(EQUALS);
}

/** A body's media type, checked: 415 for one the API does not read. */
function kindOf(req: RestRequest): BodyKind | undefined {
  const kind = bodyKind(req.contentType);
  if (kind === null) throw unsupportedMediaType(req.contentType ?? '');
  return kind;
}

function utf8(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch (cause) {
    throw badPathBody(cause);
  }
}

/** A JSON body, counted before it is parsed. */
function jsonBody(body: Buffer, limits: ParseLimits): Json {
  checkJsonBounds(body, limits);
  return parseJsonBody(body);
}

/** Form fields, counted before they are decoded. */
function formBody(body: Buffer, limits: ParseLimits): JsonObject {
  checkFormBounds(body, limits);
  return parseFormBody(body);
}

/** POST /rest and /rest/echo: the stanza (or command line) a body is, by its media type. */
export function bodyAtRoot(req: RestRequest, limits: ParseLimits, allowCommand: boolean): ApiBody {
  const kind = kindOf(req);
  const xml = () => ({ kind: 'stanza', stanza: parseStanza(req.body, limits.maxXmlDepth, limits.maxXmlElements) }) as const;
  switch (kind) {
    case 'xml':
      return xml();
    case 'json':
      return { kind: 'stanza', stanza: stanzaFromJson(jsonBody(req.body, limits)) };
    case 'form':
      // curl -d sends this type whatever the body: an XML body is XML, one without any `=` is
      // not form fields but text (as Prosody reads it), here a command line.
      if (looksLikeXml(req.body)) return xml();
      if (!isFormFields(req.body)) return allowCommand ? { kind: 'command' } : xml();
      return { kind: 'stanza', stanza: stanzaFromJson(formBody(req.body, limits)) };
    default:
      // text/plain or no type: a stanza if it looks like one, otherwise a command line.
      if (looksLikeXml(req.body) || !allowCommand) return xml();
      return { kind: 'command' };
  }
}

/** The stanza a path stands for; throws NO_SUCH_PATH for any other path or method. */
export function stanzaForPath(req: RestRequest, limits: ParseLimits): XmlElement {
  const [first, second, third, ...rest] = req.path;
  if (req.method === 'GET' && first !== undefined && second !== undefined && GET_QUERY_SET.has(first)) {
    // A repeated parameter: the last one, as Prosody's form decoding takes it.
    const fields = fieldBag<Json>();
    for (const [k, v] of req.query ?? []) fields[k] = v;
    // A full JID's resource is the rest of the path: ejabberd_http splits an encoded slash too.
    const to = req.path.slice(1).join('/');
    return stanzaFromJson({ kind: 'iq', to, [first]: first === 'ping' ? true : fields });
  }
  if (req.method === 'POST' && first !== undefined && STANZA_KINDS.has(first) && second !== undefined && third !== undefined && rest.length === 0) {
    const value = pathBody(req, first, limits);
    if (first === 'iq' && second !== 'get' && second !== 'set') {
      if (!(second in FIELDS.iq)) throw noSuchPath();
      return stanzaFromJson({ kind: 'iq', to: third, [second]: second === 'ping' ? true : value ?? {} });
    }
    const data: JsonObject = isObject(value) ? { ...value } : {};
    if (typeof value === 'string') {
      if (first === 'message') data.body = value;
      else if (first === 'presence') data.show = value;
      else throw badJsonStanza('an iq needs a JSON or form body');
    }
    return stanzaFromJson({ ...data, kind: first, type: second, to: third });
  }
  throw noSuchPath();
}

/** A path request's body: JSON or form fields as an object, text as a string, none as undefined. */
function pathBody(req: RestRequest, kind: string, limits: ParseLimits): Json | undefined {
  switch (kindOf(req)) {
    case 'json':
      return jsonBody(req.body, limits);
    case 'form':
      return isFormFields(req.body) ? formBody(req.body, limits) : utf8(req.body);
    case 'xml':
      throw unsupportedMediaType(req.contentType ?? '');
    default:
      return req.body.length === 0 && kind === 'iq' ? undefined : utf8(req.body);
  }
}
