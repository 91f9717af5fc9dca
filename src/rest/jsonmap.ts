// SPDX-License-Identifier: GPL-2.0-or-later
// Prosody's JSON mapping of stanzas (mod_rest's jsonmap), both ways: a JSON object (or form
// fields with the same keys) into the stanza it stands for, and a stanza into its JSON. The
// stanza-level keys are here (kind, type, to, from, id, lang, error, the `xmpp` list of several
// stanzas); the payload keys are the tables of jsonmap-fields.ts. Unknown keys are ignored one
// way and unknown elements the other, as Prosody does.
import { randomUUID } from 'node:crypto';
import { badJson, badJsonStanza } from './errors.js';
import { FIELDS, fieldOf, isObject, STANZA_KINDS, type Json, type JsonObject } from './jsonmap-fields.js';
import { fieldBag, lookupTable } from './lookup.js';
import { attr, child, childElements, el, textOf } from './xml-writer.js';
import type { XmlElement, XmlNode } from './types.js';

export type { Json, JsonObject } from './jsonmap-fields.js';

/** Fatal: invalid UTF-8 is a body that does not parse, not U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

type StanzaKind = 'message' | 'presence' | 'iq';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** The kind a type implies (Prosody's kind_by_type). */
const KIND_BY_TYPE: Readonly<Record<string, StanzaKind>> = lookupTable({
  get: 'iq', set: 'iq', result: 'iq',
  normal: 'message', chat: 'message', headline: 'message', groupchat: 'message',
  available: 'presence', unavailable: 'presence', subscribe: 'presence', unsubscribe: 'presence',
  subscribed: 'presence', unsubscribed: 'presence', probe: 'presence',
});
/** The kind a payload key implies when neither kind nor type says (Prosody's implied_kinds). */
const KIND_BY_KEY: Readonly<Record<string, StanzaKind>> = lookupTable({
  disco: 'iq', items: 'iq', ping: 'iq', version: 'iq', command: 'iq', lastactivity: 'iq',
  body: 'message', html: 'message', replace: 'message', state: 'message', subject: 'message', thread: 'message',
  show: 'presence', status: 'presence', priority: 'presence', join: 'presence',
});
/** Payloads that are iq sets, not gets. */
const SET_KEYS: ReadonlySet<string> = new Set(['command', 'archive', 'block', 'unblock', 'register']);
const ATTRIBUTE_KEYS = ['type', 'to', 'from', 'id'] as const;


function text(value: Json | undefined, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw badJsonStanza(`'${key}' must be a string`);
}

function kindOf(value: JsonObject, type: string | undefined): StanzaKind {
  const kind = text(value.kind, 'kind');
  if (kind !== undefined) {
    if (!STANZA_KINDS.has(kind)) throw badJsonStanza(`unknown kind '${kind}'`);
    return kind as StanzaKind;
  }
  if (type !== undefined && KIND_BY_TYPE[type]) return KIND_BY_TYPE[type]!;
  for (const key of Object.keys(value)) if (KIND_BY_KEY[key]) return KIND_BY_KEY[key]!;
  if (Object.keys(value).some((key) => key in FIELDS.iq && !(key in FIELDS.message))) return 'iq';
  return 'message';
}

/** The stanza a parsed JSON object stands for; throws BAD_JSON_STANZA when it stands for none. */
export function stanzaFromJson(value: Json): XmlElement {
  if (!isObject(value)) throw badJsonStanza('the body must be a JSON object');
  let type = text(value.type, 'type');
  const kind = kindOf(value, type);
  if (kind === 'iq' && type === undefined) type = Object.keys(value).some((k) => SET_KEYS.has(k)) ? 'set' : 'get';
  if (kind === 'presence' && type === 'available') type = undefined;
  const attrs: Record<string, string | undefined> = { type };
  for (const key of ATTRIBUTE_KEYS.slice(1)) attrs[key] = text(value[key], key);
  if (kind === 'iq' && attrs.id === undefined) attrs.id = randomUUID();
  attrs['xml:lang'] = text(value.lang, 'lang');

  // An error stanza (a reply the caller writes itself): its error object, Prosody's shape.
  if (isObject(value.error)) {
    const e = value.error;
    const condition = text(e.condition, 'error.condition') ?? 'undefined-condition';
    const children: XmlNode[] = [el(condition, { xmlns: STANZAS })];
    const errText = text(e.text, 'error.text');
    if (errText !== undefined) children.push(el('text', { xmlns: STANZAS }, [errText]));
    const error = el('error', { type: text(e.type, 'error.type') ?? 'cancel', by: text(e.by, 'error.by') }, children);
    return el(kind, { ...attrs, type: 'error' }, [error]);
  }

  const children: XmlElement[] = [];
  const fields = FIELDS[kind];
  for (const [key, v] of Object.entries(value)) {
    const field = fields[key];
    if (field === undefined || v === null) continue;
    const made = field.from(v);
    if (made !== undefined) children.push(made);
    else if (kind === 'iq' && v !== false) throw badJsonStanza(`'${key}' has a value the mapping does not know`);
  }
  if (kind === 'iq' && children.length !== 1) {
    throw badJsonStanza('an iq needs exactly one payload (ping, version, disco, items, command, archive, ...)');
  }
  return el(kind, attrs, children);
}

/** The JSON of a stanza, Prosody's shape; an `<xmpp>` wrapper of several stanzas is {xmpp: [...]}. */
export function jsonFromStanza(s: XmlElement): JsonObject | undefined {
  if (s.name === 'xmpp') return { xmpp: childElements(s).flatMap((c) => jsonFromStanza(c) ?? []) };
  if (!STANZA_KINDS.has(s.name)) return undefined;
  const kind = s.name as StanzaKind;
  const out: JsonObject = { kind };
  for (const key of ATTRIBUTE_KEYS) {
    const v = attr(s, key);
    if (v !== undefined) out[key] = v;
  }
  const lang = attr(s, 'xml:lang');
  if (lang !== undefined) out.lang = lang;
  if (kind === 'presence' && out.type === undefined) out.type = 'available';
  if (out.type === 'error') {
    const e = child(s, 'error');
    if (e) out.error = errorJson(e);
    return out;
  }
  for (const c of childElements(s)) {
    const found = fieldOf(kind, c);
    if (found === undefined) continue;
    const [key, field] = found;
    const v = field.to(c);
    if (v === undefined) continue;
    const before = out[key];
    out[key] = Array.isArray(before) && Array.isArray(v) ? [...before, ...v] : v;
  }
  return out;
}

/** A stanza error (RFC 6120 §8.3) as {type, condition, text, by}. */
function errorJson(e: XmlElement): JsonObject {
  const out: JsonObject = {};
  const type = attr(e, 'type');
  if (type !== undefined) out.type = type;
  const condition = childElements(e).find((c) => attr(c, 'xmlns') === STANZAS && c.name !== 'text');
  if (condition) out.condition = condition.name;
  const t = childElements(e).find((c) => c.name === 'text' && attr(c, 'xmlns') === STANZAS);
  if (t) out.text = textOf(t);
  const by = attr(e, 'by');
  if (by !== undefined) out.by = by;
  const code = attr(e, 'code');
  if (code !== undefined && /^\d+$/.test(code)) out.code = Number(code);
  return out;
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
export function parseFormBody(body: Buffer | string): JsonObject {
  const fields = fieldBag<Json>();
  for (const [key, value] of new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))) fields[key] = value;
  return fields;
}

/** Form fields of a stanza's JSON (Prosody's flatten): strings and numbers as they are, `true` as empty. */
export function formFromJson(value: JsonObject): string {
  const form = new URLSearchParams();
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') form.append(key, v);
    else if (typeof v === 'number') form.append(key, String(v));
    else if (v === true) form.append(key, '');
  }
  return form.toString();
}
