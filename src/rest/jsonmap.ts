// SPDX-License-Identifier: GPL-2.0-or-later
// Prosody's JSON mapping of stanzas (mod_rest's jsonmap), request side: a JSON object, or form
// fields with the same keys, into the stanza it stands for. Covered: kind, type, to, from, id,
// lang; message body, subject, thread, oob_url; presence show, status, priority; iq ping,
// version, disco, items. Unknown keys are ignored, as Prosody ignores them.
import { randomUUID } from 'node:crypto';
import { badJson, badJsonStanza } from './errors.js';
import type { XmlElement, XmlNode } from './types.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Fatal: invalid UTF-8 is a body that does not parse, not U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const KINDS: ReadonlySet<string> = new Set(['message', 'presence', 'iq']);

function el(name: string, attrs: Array<[string, string]> = [], children: XmlNode[] = []): XmlElement {
  return { name, attrs, children };
}

function text(value: Json | undefined, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw badJsonStanza(`'${key}' must be a string`);
}

/** The stanza a parsed JSON object stands for; throws BAD_JSON_STANZA when it stands for none. */
export function stanzaFromJson(value: Json): XmlElement {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badJsonStanza('the body must be a JSON object');
  const kind = text(value.kind, 'kind') ?? 'message';
  if (!KINDS.has(kind)) throw badJsonStanza(`unknown kind '${kind}'`);
  const attrs: Array<[string, string]> = [];
  for (const key of ['type', 'to', 'from', 'id'] as const) {
    const v = text(value[key], key);
    if (v !== undefined) attrs.push([key, v]);
  }
  const lang = text(value.lang, 'lang');
  if (lang !== undefined) attrs.push(['xml:lang', lang]);
  const children: XmlElement[] = [];
  const child = (key: string, name = key) => {
    const v = text(value[key], key);
    if (v !== undefined) children.push(el(name, [], [v]));
  };
  if (kind === 'message') {
    child('body');
    child('subject');
    child('thread');
    const url = text(value.oob_url, 'oob_url');
    if (url !== undefined) children.push(el('x', [['xmlns', 'jabber:x:oob']], [el('url', [], [url])]));
  } else if (kind === 'presence') {
    child('show');
    child('status');
    child('priority');
  } else {
    if (!attrs.some(([k]) => k === 'type')) attrs.push(['type', 'get']);
    if (!attrs.some(([k]) => k === 'id')) attrs.push(['id', randomUUID()]);
    const payloads: Array<[string, (v: Json) => XmlElement]> = [
      ['ping', () => el('ping', [['xmlns', 'urn:xmpp:ping']])],
      ['version', () => el('query', [['xmlns', 'jabber:iq:version']])],
      ['disco', (v) => el('query', node('http://jabber.org/protocol/disco#info', v))],
      ['items', (v) => el('query', node('http://jabber.org/protocol/disco#items', v))],
    ];
    for (const [key, make] of payloads) {
      const v = value[key];
      if (v !== undefined && v !== false && v !== null) children.push(make(v));
    }
    if (children.length !== 1) throw badJsonStanza('an iq needs exactly one of ping, version, disco, items');
  }
  return el(kind, attrs, children);
}

/** disco and items take `true`, or the node to query. */
function node(xmlns: string, v: Json): Array<[string, string]> {
  return typeof v === 'string' ? [['xmlns', xmlns], ['node', v]] : [['xmlns', xmlns]];
}

/** A JSON body; throws BAD_JSON when it does not parse. */
export function parseJsonBody(body: Buffer): Json {
  try {
    return JSON.parse(UTF8.decode(body)) as Json;
  } catch (cause) {
    throw badJson(cause);
  }
}

/** Form fields (application/x-www-form-urlencoded), the same keys as JSON. */
export function parseFormBody(body: Buffer): Json {
  const fields: { [key: string]: Json } = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) fields[key] = value;
  return fields;
}
