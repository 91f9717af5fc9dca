// SPDX-License-Identifier: GPL-2.0-or-later
// The frames exchanged with the Erlang stub. erl/mod_rest_port.erl documents the same table.
//
//   Erlang -> worker                               worker -> Erlang
//   {config, Host, #{allowed_ips => [Bin],          {hello, Version}             once, at start
//            allowed_destinations => [Bin],         {reply, Id, Action}          one per request
//            allowed_stanza_types => [Bin],           Action = {route, Xmlel}
//            api_allowed_ips => [Bin],
//            allowed_senders => all | [Bin],
//            max_xml_depth => Int,
//            max_xml_elements => Int,
//            max_command_args => Int,
//            api_allowed_origins => all | [Bin],
//            allowed_origins => all | [Bin],
//            api_max_batch_items => Int,
//            api_max_batch_size => Int,
//            max_command_size => Int,
//            api_max_stanza_size => Int}}
//   {forget, Host}                                         | {command, Name, [Arg], Auth}
//   {log_level, Level}                                     | {answer, Status, Body}
//   {request, Id, #{method, path, body, ip, host,    Auth = none | {User, Server, Password}
//                   api => boolean(),                     | {send, Xmlel}  (authenticated API)
//                   content_type => Bin,                  | {echo, Xmlel}  (POST /rest/echo)
//                                                         | {archive, Xmlel}  a MAM query iq: the
//                                                             stub collects its result messages
//                   accept => Bin,                        | {send_batch, [Item]}  (a batch, batch.ts)
//                                                             Item = {send, Xmlel}
//                                                                  | {refused, Status, Code}
//                                                             the stub sends the items in order
//                                                         | {document, Status, [{Name, Value}],
//                   query => [{Key, Value}],                     ContentType, Body}
//                   origin, fetch_site,                      a rendered API answer
//                   own_origin, auth_scheme => Bin}}      | {with_headers, [{Name, Value}], Action}
//                   (all after host optional)                 Action's answer plus these headers
//                                                             (CORS, src/rest/browser.ts)
//   {render, Id, #{host, accept, content_type,     {reply, Id, {document, ...}}  its answer
//                  status => N, stanza => Xmlel}}
//              | #{host, accept, content_type,
//                  error => Code, detail => Bin}}  Code: a VM_CODES entry of src/rest/errors.ts
//     (both with the request's origin, fetch_site,   plus CORS headers for a listed origin
//      own_origin, auth_scheme when it has them)      (browser.ts corsOfStubAnswer)
//                                                  {log, Level, Line}           a log line for ejabberd's log
//   {webhook, Id, #{url, format => xml | json,     {reply, Id, WebhookAction}   the call's outcome
//                   timeout => Ms,                   WebhookAction =
//                   stanza => Xmlel,                   {webhook_done, Status, Xmlel | none}
//                   delivery_id => Bin,                  the service answered (any status); its
//                   secret => Bin,
//                   ca_file => Bin}}                     reply stanza when 2xx with a body
//     POST a stanza to a bot (mod_rest_webhook);     | {webhook_failed, Reason, Detail}
//     secret and ca_file optional; run by the            Reason: a WebhookFailure of
//     webhook lane (src/webhook/)                        src/rest/errors.ts; Detail for the log
//   {ping, N}                                      {pong, N}                    liveness probe
//   [Frame, ...]  a batch of the above, written at
//                 once by the stub's writer; each is
//                 handled as if it came alone
//
// Every string is a UTF-8 binary; Id is a positive integer below 2^31; Xmlel is
// {xmlel, Name, [{Attr, Value}], [Xmlel | {xmlcdata, Bin}]}, ejabberd's #xmlel{}.
import { atom, Atom, Term, TermMap, Tuple, type OutTerm } from './etf.js';
import type { Action, HostPolicy, RestRequest, XmlElement, XmlNode } from '../rest/types.js';
import { CATALOGUE, VM_CODES, type RestErrorCode } from '../rest/errors.js';
import { mediaType } from '../rest/negotiate.js';
import type { BrowserFields } from '../rest/browser.js';
import type { Negotiation, RenderJob } from '../rest/render.js';
import type { WebhookAction, WebhookJob } from '../webhook/call.js';

export const PROTOCOL_VERSION = 1;

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'warning', 'error'];

export type Inbound =
  | { type: 'config'; host: string; policy: HostPolicy }
  | { type: 'forget'; host: string }
  | { type: 'log_level'; level: LogLevel }
  | { type: 'ping'; n: number }
  | { type: 'request'; id: number; request: RestRequest }
  | { type: 'render'; id: number; job: RenderJob }
  | { type: 'webhook'; id: number; job: WebhookJob };

/** A frame that decodes as ETF but is not one of ours. Carries the id when one could be read. */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL';
  constructor(
    message: string,
    readonly id?: number,
  ) {
    super(message);
  }
}

export function parseInbound(term: Term): Inbound {
  if (!(term instanceof Tuple) || !(term.items[0] instanceof Atom)) {
    throw new ProtocolError('a frame must be a tagged tuple');
  }
  const [tag, a, b] = term.items as Term[];
  switch ((tag as Atom).name) {
    case 'request': {
      const id = int(a);
      try {
        return { type: 'request', id, request: parseRequest(map(b)) };
      } catch (err) {
        throw new ProtocolError((err as Error).message, id);
      }
    }
    case 'render': {
      const id = int(a);
      try {
        return { type: 'render', id, job: parseRenderJob(map(b)) };
      } catch (err) {
        throw new ProtocolError((err as Error).message, id);
      }
    }
    case 'webhook': {
      const id = int(a);
      try {
        return { type: 'webhook', id, job: parseWebhookJob(map(b)) };
      } catch (err) {
        throw new ProtocolError((err as Error).message, id);
      }
    }
    case 'config':
      return { type: 'config', host: text(a), policy: parsePolicy(map(b), text(a)) };
    case 'forget':
      return { type: 'forget', host: text(a) };
    case 'ping':
      return { type: 'ping', n: int(a) };
    case 'log_level': {
      const level = atomName(a);
      if (!LOG_LEVELS.includes(level)) throw new ProtocolError(`unknown log level ${level}`);
      return { type: 'log_level', level: level as LogLevel };
    }
    default:
      throw new ProtocolError(`unknown frame tag ${(tag as Atom).name}`);
  }
}

function parseRequest(m: TermMap): RestRequest {
  return {
    method: text(field(m, 'method')),
    path: list(field(m, 'path')).map(text),
    body: binary(field(m, 'body')),
    ip: text(field(m, 'ip')),
    host: text(field(m, 'host')),
    ...(m.has('api') ? { api: isTrue(m.get('api')) } : {}),
    ...(m.has('content_type') ? { contentType: mediaType(text(m.get('content_type'))) } : {}),
    ...(m.has('accept') ? { accept: text(m.get('accept')) } : {}),
    ...(m.has('query') ? { query: list(m.get('query')!).map(pair) } : {}),
    ...browserFields(m),
  };
}

/** The fields mod_rest_browser.erl reads of a browser's request, in a request or render frame. */
function browserFields(m: TermMap): BrowserFields {
  return {
    ...(m.has('origin') ? { origin: text(m.get('origin')) } : {}),
    ...(m.has('fetch_site') ? { fetchSite: text(m.get('fetch_site')) } : {}),
    ...(m.has('own_origin') ? { ownOrigin: text(m.get('own_origin')) } : {}),
    ...(m.has('auth_scheme') ? { authScheme: text(m.get('auth_scheme')) } : {}),
  };
}

function parseRenderJob(m: TermMap): RenderJob {
  const browser = browserFields(m);
  const negotiation: Negotiation & { browser?: BrowserFields } = {
    host: text(field(m, 'host')),
    ...(m.has('accept') ? { accept: text(m.get('accept')) } : {}),
    ...(m.has('content_type') ? { contentType: mediaType(text(m.get('content_type'))) } : {}),
    ...(Object.keys(browser).length > 0 ? { browser } : {}),
  };
  if (m.has('stanza')) {
    return { ...negotiation, what: 'stanza', stanza: xmlElement(field(m, 'stanza')), status: int(field(m, 'status')) };
  }
  const code = text(field(m, 'error'));
  if (!VM_CODES.has(code as RestErrorCode)) throw new ProtocolError(`unknown error code ${code.slice(0, 64)}`);
  return { ...negotiation, what: 'error', code: code as RestErrorCode, ...(m.has('detail') ? { detail: text(m.get('detail')) } : {}) };
}

function parseWebhookJob(m: TermMap): WebhookJob {
  const format = atomName(field(m, 'format'));
  if (format !== 'xml' && format !== 'json') throw new ProtocolError(`unknown webhook format ${format}`);
  return {
    url: text(field(m, 'url')),
    format,
    timeout: positive(field(m, 'timeout')),
    stanza: xmlElement(field(m, 'stanza')),
    deliveryId: text(field(m, 'delivery_id')),
    ...(m.has('secret') ? { secret: text(m.get('secret')) } : {}),
    ...(m.has('ca_file') ? { caFile: text(m.get('ca_file')) } : {}),
  };
}

/** {xmlel, Name, Attrs, Children} (ejabberd's #xmlel{}) as an XmlElement. */
function xmlElement(t: Term): XmlElement {
  if (!(t instanceof Tuple) || t.items.length !== 4 || !(t.items[0] instanceof Atom) || t.items[0].name !== 'xmlel') {
    throw new ProtocolError('expected an xmlel');
  }
  const [, name, attrs, children] = t.items as Term[];
  return { name: text(name as Term), attrs: list(attrs as Term).map(pair), children: list(children as Term).map(xmlNode) };
}

function xmlNode(t: Term): XmlNode {
  if (t instanceof Tuple && t.items[0] instanceof Atom && t.items[0].name === 'xmlcdata') return text(t.items[1] as Term);
  return xmlElement(t);
}

function pair(t: Term): [string, string] {
  if (t instanceof Tuple && t.items.length === 2) return [text(t.items[0] as Term), text(t.items[1] as Term)];
  throw new ProtocolError('expected a pair of binaries');
}


function isTrue(t: Term | undefined): boolean {
  return t instanceof Atom && t.name === 'true';
}

/** allowed_senders: the atom `all`, or a list. A stub that predates the option sends none: the vhost only. */
function senders(m: TermMap, host: string): string[] | null {
  if (!m.has('allowed_senders')) return [host];
  const value = field(m, 'allowed_senders');
  if (value instanceof Atom && value.name === 'all') return null;
  return list(value).map(text);
}

function parsePolicy(m: TermMap, host: string): HostPolicy {
  return {
    allowedIps: list(field(m, 'allowed_ips')).map(text),
    ...(m.has('api_allowed_ips') ? { apiAllowedIps: list(m.get('api_allowed_ips')!).map(text) } : {}),
    allowedDestinations: list(field(m, 'allowed_destinations')).map(text),
    allowedStanzaTypes: list(field(m, 'allowed_stanza_types')).map(text),
    allowedSenders: senders(m, host),
    // Optional, so that a config frame of an older stub still reads.
    ...(m.has('max_xml_depth') ? { maxXmlDepth: positive(m.get('max_xml_depth')) } : {}),
    ...(m.has('max_xml_elements') ? { maxXmlElements: positive(m.get('max_xml_elements')) } : {}),
    ...(m.has('max_command_args') ? { maxCommandArgs: positive(m.get('max_command_args')) } : {}),
    ...(m.has('api_allowed_origins') ? { apiAllowedOrigins: origins(m.get('api_allowed_origins')!) } : {}),
    ...(m.has('allowed_origins') ? { allowedOrigins: origins(m.get('allowed_origins')!) } : {}),
    ...(m.has('api_max_batch_items') ? { apiMaxBatchItems: positive(m.get('api_max_batch_items')) } : {}),
    ...(m.has('api_max_batch_size') ? { apiMaxBatchSize: positive(m.get('api_max_batch_size')) } : {}),
    ...(m.has('max_command_size') ? { maxCommandSize: positive(m.get('max_command_size')) } : {}),
    ...(m.has('api_max_stanza_size') ? { apiMaxStanzaSize: positive(m.get('api_max_stanza_size')) } : {}),
  };
}

/** An origins option: `all` (null) or a list of origins. */
function origins(t: Term): string[] | null {
  return t instanceof Atom && t.name === 'all' ? null : list(t).map(text);
}

export function helloFrame(): OutTerm {
  return new Tuple(atom('hello'), PROTOCOL_VERSION);
}

export function replyFrame(id: number, action: Action): OutTerm {
  return new Tuple(atom('reply'), id, actionTerm(action));
}

export function webhookReplyFrame(id: number, action: WebhookAction): OutTerm {
  const term =
    action.kind === 'webhook_done'
      ? new Tuple(atom('webhook_done'), action.status, action.reply === null ? atom('none') : xmlTerm(action.reply))
      : new Tuple(atom('webhook_failed'), atom(action.reason), action.detail);
  return new Tuple(atom('reply'), id, term);
}

export function pongFrame(n: number): OutTerm {
  return new Tuple(atom('pong'), n);
}

export function logFrame(level: LogLevel, line: string): OutTerm {
  return new Tuple(atom('log'), atom(level), line);
}

function actionTerm(action: Action): OutTerm {
  switch (action.kind) {
    case 'route':
      return new Tuple(atom('route'), xmlTerm(action.stanza));
    case 'send':
      return new Tuple(atom('send'), xmlTerm(action.stanza));
    case 'echo':
      return new Tuple(atom('echo'), xmlTerm(action.stanza));
    case 'archive':
      return new Tuple(atom('archive'), xmlTerm(action.stanza));
    case 'send_batch':
      return new Tuple(
        atom('send_batch'),
        action.items.map((item) =>
          item.kind === 'send' ? new Tuple(atom('send'), xmlTerm(item.stanza)) : new Tuple(atom('refused'), CATALOGUE[item.code].status, item.code),
        ),
      );
    case 'command': {
      const auth = action.auth
        ? new Tuple(action.auth.user, action.auth.server, action.auth.password)
        : atom('none');
      return new Tuple(atom('command'), action.name, action.args, auth);
    }
    case 'answer':
      return new Tuple(atom('answer'), action.status, action.body);
    case 'document':
      return new Tuple(
        atom('document'),
        action.status,
        action.headers.map(([name, value]) => new Tuple(name, value)),
        action.contentType,
        action.body,
      );
    case 'with_headers':
      return new Tuple(atom('with_headers'), action.headers.map(([name, value]) => new Tuple(name, value)), actionTerm(action.action));
  }
}

// Iterative would be safer, but depth is capped at parse time (MAX_XML_DEPTH) and erlang_js
// itself encodes recursively.
function xmlTerm(node: XmlNode): OutTerm {
  if (typeof node === 'string') return new Tuple(atom('xmlcdata'), node);
  const el: XmlElement = node;
  return new Tuple(
    atom('xmlel'),
    el.name,
    el.attrs.map(([name, value]) => new Tuple(name, value)),
    el.children.map(xmlTerm),
  );
}

function field(m: TermMap, key: string): Term {
  const value = m.get(key);
  if (value === undefined) throw new ProtocolError(`missing field ${key}`);
  return value;
}
function map(t: Term | undefined): TermMap {
  if (t instanceof Map) return t;
  throw new ProtocolError('expected a map');
}
function list(t: Term): Term[] {
  if (Array.isArray(t)) return t;
  throw new ProtocolError('expected a list');
}
function binary(t: Term): Buffer {
  if (Buffer.isBuffer(t)) return t;
  throw new ProtocolError('expected a binary');
}
function text(t: Term | undefined): string {
  if (t !== undefined && Buffer.isBuffer(t)) return t.toString('utf8');
  throw new ProtocolError('expected a UTF-8 binary');
}
function int(t: Term | undefined): number {
  if (typeof t === 'number' && Number.isInteger(t) && t >= 0) return t;
  throw new ProtocolError('expected a non-negative integer');
}
function positive(t: Term | undefined): number {
  const n = int(t);
  if (n > 0) return n;
  throw new ProtocolError('expected a positive integer');
}
function atomName(t: Term | undefined): string {
  if (t instanceof Atom) return t.name;
  throw new ProtocolError('expected an atom');
}
