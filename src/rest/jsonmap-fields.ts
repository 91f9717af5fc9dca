// SPDX-License-Identifier: GPL-2.0-or-later
// The payloads of Prosody's JSON mapping of stanzas (mod_rest's jsonmap and its schema), as one
// table per stanza kind: each JSON key, the child element it stands for, and both directions.
// Most keys are one of a few shapes (a text child, a flag, one attribute, an object of
// attributes and texts); the rest (disco, forms, ad-hoc commands, XHTML-IM, MAM) are written out.
import { badArchiveQuery, badJsonStanza } from './errors.js';
import { jsonFromStanza } from './jsonmap.js';
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS, parseStanza } from './stanza.js';
import { attr, child, childElements, childText, el, textOf, writeXml } from './xml-writer.js';
import { lookupTable } from './lookup.js';
import type { XmlElement, XmlNode } from './types.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One JSON key's mapping. `from` returns undefined when the value stands for no element. */
export interface Field {
  /** Namespace and element name, to find the field of a child element. null: any name in the namespace. */
  readonly ns: string;
  readonly name: string | null;
  to(e: XmlElement): Json | undefined;
  from(v: Json): XmlElement | undefined;
}

const CLIENT = 'jabber:client';

/** The stanza kinds of the mapping (and of the API): message, presence, iq. */
export const STANZA_KINDS: ReadonlySet<string> = new Set(['message', 'presence', 'iq']);

export const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json | undefined): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const int = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^-?\d+$/.test(v.trim())) return undefined;
  return Number(v);
};
const compact = (o: Record<string, Json | undefined>): JsonObject => {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
};
const ns = (xmlns: string, extra: Record<string, string | undefined> = {}) => (xmlns === CLIENT ? extra : { xmlns, ...extra });

/** <name>text</name> (in the stanza's own namespace unless given). */
function text(name: string, xmlns = CLIENT, integer = false): Field {
  return {
    ns: xmlns,
    name,
    to: (e) => (integer ? int(textOf(e)) : textOf(e)),
    from: (v) => {
      const s = str(v);
      if (s === undefined && typeof v === 'object' && v !== null) throw badJsonStanza(`'${name}' must be a string`);
      return s === undefined ? undefined : el(name, ns(xmlns), [s]);
    },
  };
}

/** <name xmlns/> for `true`. */
function flag(name: string, xmlns: string): Field {
  return { ns: xmlns, name, to: () => true, from: (v) => (v === true || v === 'true' || v === '' ? el(name, { xmlns }) : undefined) };
}

/** <value xmlns/>: the element's name is the value (chat states). */
function nameIsValue(xmlns: string, values: readonly string[]): Field {
  return {
    ns: xmlns,
    name: null,
    to: (e) => e.name,
    from: (v) => (typeof v === 'string' && values.includes(v) ? el(v, { xmlns }) : undefined),
  };
}

/** <name xmlns attribute='value'/>. */
function single(name: string, xmlns: string, attribute: string): Field {
  return {
    ns: xmlns,
    name,
    to: (e) => attr(e, attribute),
    from: (v) => {
      const s = str(v);
      return s === undefined ? undefined : el(name, { xmlns, [attribute]: s });
    },
  };
}

type Kind = 'string' | 'int' | 'bool';
/** <name xmlns a='..' b='..'><t>..</t></name> as {a, b, t}; `body` names the key of the element's own text. */
function object(name: string, xmlns: string, shape: { attrs?: Record<string, Kind>; texts?: string[]; body?: string }): Field {
  const attrs = shape.attrs ?? {};
  const texts = shape.texts ?? [];
  return {
    ns: xmlns,
    name,
    to: (e) => {
      const o: Record<string, Json | undefined> = {};
      for (const [key, kind] of Object.entries(attrs)) {
        const v = attr(e, key);
        o[key] = v === undefined ? undefined : kind === 'int' ? int(v) : kind === 'bool' ? v === 'true' || v === '1' : v;
      }
      for (const key of texts) o[key] = childText(e, key);
      if (shape.body !== undefined) o[shape.body] = textOf(e) === '' ? undefined : textOf(e);
      return compact(o);
    },
    from: (v) => {
      if (typeof v === 'string' && shape.body !== undefined) return el(name, ns(xmlns), [v]);
      if (!isObject(v)) return v === true ? el(name, ns(xmlns)) : undefined;
      const a: Record<string, string | undefined> = ns(xmlns);
      for (const key of Object.keys(attrs)) a[key] = v[key] === undefined || v[key] === null ? undefined : String(v[key]);
      const children: XmlNode[] = [];
      for (const key of texts) {
        const s = str(v[key]);
        if (s !== undefined) children.push(el(key, {}, s === '' ? [] : [s]));
      }
      if (shape.body !== undefined) {
        const s = str(v[shape.body]);
        if (s !== undefined) children.push(s);
      }
      return el(name, a, children);
    },
  };
}

// --- XEP-0004 data forms: the complete mapping (dataform) and the simple one (formdata) ---
const DATA = 'jabber:x:data';
const MULTI = new Set(['jid-multi', 'list-multi', 'text-multi']);

function formToJson(x: XmlElement): JsonObject {
  const fields: Json[] = childElements(x)
    .filter((f) => f.name === 'field')
    .map((f) => {
      const type = attr(f, 'type');
      const values = childElements(f).filter((c) => c.name === 'value').map(textOf);
      const value: Json | undefined = type !== undefined && MULTI.has(type) ? (type === 'text-multi' ? values.join('\n') : values) : values[0];
      const options = childElements(f).filter((c) => c.name === 'option').map((o) => compact({ label: attr(o, 'label'), value: childText(o, 'value') }));
      return compact({
        var: attr(f, 'var'),
        type,
        label: attr(f, 'label'),
        desc: childText(f, 'desc'),
        required: child(f, 'required') ? true : undefined,
        value,
        options: type === 'list-single' || type === 'list-multi' ? options : undefined,
      });
    });
  return compact({ type: attr(x, 'type'), title: childText(x, 'title'), instructions: childText(x, 'instructions'), fields });
}

function formFromJson(v: Json): XmlElement | undefined {
  if (!isObject(v)) return undefined;
  const children: XmlNode[] = [];
  if (typeof v.title === 'string') children.push(el('title', {}, [v.title]));
  if (typeof v.instructions === 'string') children.push(el('instructions', {}, [v.instructions]));
  for (const f of Array.isArray(v.fields) ? v.fields : []) {
    if (!isObject(f)) continue;
    const inner: XmlNode[] = [];
    if (typeof f.desc === 'string') inner.push(el('desc', {}, [f.desc]));
    if (f.required === true) inner.push(el('required'));
    const values = Array.isArray(f.value) ? f.value : Array.isArray(f.values) ? f.values : [f.value];
    for (const value of values) {
      const s = str(value);
      if (s !== undefined) inner.push(el('value', {}, [s]));
    }
    for (const o of Array.isArray(f.options) ? f.options : []) {
      if (isObject(o)) inner.push(el('option', { label: str(o.label) }, [el('value', {}, [str(o.value) ?? ''])]));
    }
    children.push(el('field', { var: str(f.var), type: str(f.type), label: str(f.label) }, inner));
  }
  return el('x', { xmlns: DATA, type: str(v.type) }, children);
}

/** {var: value} of a form, values typed as their field is (Prosody's formdata). */
function formDataToJson(x: XmlElement): JsonObject {
  const out: JsonObject = {};
  for (const f of childElements(x).filter((c) => c.name === 'field')) {
    const name = attr(f, 'var');
    if (name === undefined) continue;
    const type = attr(f, 'type');
    const values = childElements(f).filter((c) => c.name === 'value').map(textOf);
    if (type === 'list-single' || type === 'list-multi' || type === undefined) out[name] = values;
    else if (type === 'text-multi') out[name] = values.join('\n');
    else if (type === 'boolean') out[name] = values[0] === '1' || values[0] === 'true';
    else out[name] = values[0] ?? null;
  }
  return out;
}

function formDataFromJson(v: JsonObject, type: string): XmlElement {
  const fields = Object.entries(v).map(([name, value]) => {
    const values = Array.isArray(value) ? value : [value];
    return el('field', { var: name }, values.flatMap((x) => (str(x) === undefined ? [] : [el('value', {}, [str(x)!])])));
  });
  return el('x', { xmlns: DATA, type }, fields);
}

const dataform: Field = { ns: DATA, name: 'x', to: formToJson, from: formFromJson };

// --- XEP-0030 service discovery ---
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

const disco: Field = {
  ns: DISCO_INFO,
  name: 'query',
  to: (q) => {
    if (childElements(q).length === 0) return attr(q, 'node') ?? true;
    const identities: Json[] = [];
    const features: Json[] = [];
    const extensions: JsonObject = {};
    for (const c of childElements(q)) {
      if (c.name === 'identity' && attr(c, 'category') && attr(c, 'type')) {
        identities.push(compact({ category: attr(c, 'category'), type: attr(c, 'type'), name: attr(c, 'name') }));
      } else if (c.name === 'feature' && attr(c, 'var')) features.push(attr(c, 'var')!);
      else if (c.name === 'x' && attr(c, 'xmlns') === DATA) {
        const data = formDataToJson(c);
        const formType = data.FORM_TYPE;
        delete data.FORM_TYPE;
        const key = Array.isArray(formType) ? str(formType[0]) : str(formType);
        if (key !== undefined) extensions[key] = data;
      }
    }
    return compact({ node: attr(q, 'node'), identities, features, extensions: Object.keys(extensions).length ? extensions : undefined });
  },
  from: (v) => {
    if (typeof v === 'string') return el('query', { xmlns: DISCO_INFO, node: v });
    if (!isObject(v)) return el('query', { xmlns: DISCO_INFO });
    const children: XmlNode[] = [];
    for (const i of Array.isArray(v.identities) ? v.identities : []) {
      if (isObject(i)) children.push(el('identity', { category: str(i.category), type: str(i.type), name: str(i.name) }));
    }
    for (const f of Array.isArray(v.features) ? v.features : []) if (str(f) !== undefined) children.push(el('feature', { var: str(f) }));
    if (isObject(v.extensions)) {
      for (const [formType, data] of Object.entries(v.extensions)) {
        if (isObject(data)) children.push(formDataFromJson({ FORM_TYPE: formType, ...data }, 'result'));
      }
    }
    return el('query', { xmlns: DISCO_INFO, node: str(v.node) }, children);
  },
};

const items: Field = {
  ns: DISCO_ITEMS,
  name: 'query',
  to: (q) => {
    if (childElements(q).length === 0) return attr(q, 'node') ?? true;
    return childElements(q)
      .filter((c) => c.name === 'item')
      .map((c) => compact({ jid: attr(c, 'jid'), node: attr(c, 'node'), name: attr(c, 'name') }));
  },
  from: (v) => {
    if (typeof v === 'string') return el('query', { xmlns: DISCO_ITEMS, node: v });
    if (Array.isArray(v)) {
      const list = v.map((i) => (typeof i === 'string' ? el('item', { jid: i }) : isObject(i) ? el('item', { jid: str(i.jid), node: str(i.node), name: str(i.name) }) : null));
      return el('query', { xmlns: DISCO_ITEMS }, list.filter((i): i is XmlElement => i !== null));
    }
    return el('query', { xmlns: DISCO_ITEMS, node: isObject(v) ? str(v.node) : undefined });
  },
};

// --- XEP-0050 ad-hoc commands ---
const COMMANDS = 'http://jabber.org/protocol/commands';
const command: Field = {
  ns: COMMANDS,
  name: 'command',
  to: (c) => {
    const actions = child(c, 'actions');
    const note = child(c, 'note');
    const form = child(c, 'x', DATA);
    const acts: JsonObject | undefined = actions ? compact({ execute: attr(actions, 'execute') }) : undefined;
    if (actions && acts) for (const a of childElements(actions)) acts[a.name] = true;
    return compact({
      action: attr(c, 'action'),
      node: attr(c, 'node'),
      sessionid: attr(c, 'sessionid'),
      status: attr(c, 'status'),
      actions: acts,
      note: !actions && note ? compact({ type: attr(note, 'type'), text: textOf(note) }) : undefined,
      form: form ? formToJson(form) : undefined,
    });
  },
  from: (v) => {
    if (typeof v === 'string') return el('command', { xmlns: COMMANDS, node: v });
    if (!isObject(v)) return undefined;
    const children: XmlNode[] = [];
    if (isObject(v.actions)) {
      const acts = ['next', 'prev', 'complete'].filter((a) => (v.actions as JsonObject)[a] === true).map((a) => el(a));
      children.push(el('actions', { execute: str(v.actions.execute) }, acts));
    } else if (isObject(v.note)) children.push(el('note', { type: str(v.note.type) }, [str(v.note.text) ?? '']));
    if (v.form !== undefined) {
      const f = formFromJson(v.form);
      if (f) children.push(f);
    } else if (isObject(v.data)) children.push(formDataFromJson(v.data, 'submit'));
    return el('command', { xmlns: COMMANDS, action: str(v.action), node: str(v.node), sessionid: str(v.sessionid), status: str(v.status) }, children);
  },
};

// --- XEP-0071 XHTML-IM: the XHTML body as a string ---
const XHTML_IM = 'http://jabber.org/protocol/xhtml-im';
const XHTML = 'http://www.w3.org/1999/xhtml';
const html: Field = {
  ns: XHTML_IM,
  name: 'html',
  to: (h) => {
    const body = child(h, 'body', XHTML);
    if (!body) return undefined;
    return writeXml({ ...body, attrs: body.attrs.filter(([k]) => k !== 'xmlns') });
  },
  from: (v) => {
    if (typeof v !== 'string') return undefined;
    // Prosody's value is the XHTML <body> element's markup; a fragment without it is wrapped in
    // one. Parsed with the stanza parser and its bounds.
    const wrapper = parseStanza(Buffer.from(`<html xmlns='${XHTML_IM}'>${v}</html>`), MAX_XML_DEPTH, MAX_XML_ELEMENTS);
    const only = wrapper.children.filter((c) => typeof c !== 'string' || c.trim() !== '');
    const given = only.length === 1 && typeof only[0] !== 'string' && only[0]!.name === 'body' ? only[0] : undefined;
    const body = given ? { ...given, attrs: [['xmlns', XHTML] as [string, string], ...given.attrs.filter(([k]) => k !== 'xmlns')] } : el('body', { xmlns: XHTML }, wrapper.children);
    return el('html', { xmlns: XHTML_IM }, [body]);
  },
};

// --- XEP-0059 result set management, XEP-0313 message archive management ---
const RSM = 'http://jabber.org/protocol/rsm';
const MAM = 'urn:xmpp:mam:2';
const rsm = object('set', RSM, { texts: ['after', 'before', 'count', 'first', 'last', 'max', 'index'] });
const mamQuery: Field = {
  ns: MAM,
  name: 'query',
  to: (q) => {
    const form = child(q, 'x', DATA);
    const set = child(q, 'set', RSM);
    return compact({ queryid: attr(q, 'queryid'), form: form ? formToJson(form) : undefined, page: set ? rsm.to(set) : undefined });
  },
  from: (v) => {
    const a: JsonObject = isObject(v) ? v : {};
    const children: XmlNode[] = [];
    // Prosody's convenience keys: with, start, end, before-id, after-id, ids become the form;
    // after, before, max the page.
    const filters = ['with', 'start', 'end', 'before-id', 'after-id'].filter((k) => str(a[k]) !== undefined);
    const ids = typeof a.ids === 'string' ? a.ids.split(',').filter(Boolean) : Array.isArray(a.ids) ? a.ids : undefined;
    if (a.form !== undefined) {
      const f = formFromJson(a.form);
      if (f) children.push(f);
    } else if (filters.length > 0 || ids !== undefined) {
      const fields: JsonObject = { FORM_TYPE: MAM };
      for (const k of filters) fields[k] = str(a[k])!;
      if (ids !== undefined) fields.ids = ids;
      const form = formDataFromJson(fields, 'submit');
      // FORM_TYPE is hidden (XEP-0068).
      (form.children[0] as XmlElement).attrs.push(['type', 'hidden']);
      children.push(form);
    }
    const page = isObject(a.page) ? { ...a.page } : compact({ after: a.after, before: a.before, max: a.max });
    if (page.max !== undefined) page.max = String(archiveMax(page.max));
    if (Object.keys(page).length > 0) children.push(rsm.from(page)!);
    return el('query', { xmlns: MAM, queryid: str(a.queryid) }, children);
  },
};
/** mod_mam's own cap on a page (its limit_max): a bigger max gets this many anyway. */
export const ARCHIVE_MAX = 250;
function archiveMax(v: Json): number {
  const s = str(v);
  if (s === undefined || !/^\d{1,9}$/.test(s)) throw badArchiveQuery('max not a whole number');
  return Math.min(Number(s), ARCHIVE_MAX);
}
const mamFin = object('fin', MAM, { attrs: { complete: 'bool', stable: 'bool' } });
const mamResult: Field = {
  ns: MAM,
  name: 'fin',
  to: (f) => {
    const set = child(f, 'set', RSM);
    return { ...(mamFin.to(f) as JsonObject), ...(set ? { page: rsm.to(set)! } : {}) };
  },
  from: (v) => mamFin.from(v),
};

const FORWARD = 'urn:xmpp:forward:0';
const DELAY = 'urn:xmpp:delay';
const forwarded = (f: XmlElement): JsonObject => {
  const delay = child(f, 'delay', DELAY);
  const msg = child(f, 'message');
  return compact({ delay: delay ? attr(delay, 'stamp') : undefined, message: msg ? jsonFromStanza(msg) : undefined });
};
const archiveResult: Field = {
  ns: MAM,
  name: 'result',
  to: (r) => {
    const fwd = child(r, 'forwarded', FORWARD);
    return compact({ id: attr(r, 'id'), queryid: attr(r, 'queryid'), forward: fwd ? forwarded(fwd) : undefined });
  },
  from: () => undefined,
};

// --- XEP-0359 stanza ids, XEP-0444 reactions ---
const SID = 'urn:xmpp:sid:0';
const stanzaIds: Field = {
  ns: SID,
  name: 'stanza-id',
  to: (s) => [compact({ id: attr(s, 'id'), by: attr(s, 'by') })],
  from: () => undefined, // several elements: added by the server, never sent by a client
};
const REACTIONS = 'urn:xmpp:reactions:0';
const reactions: Field = {
  ns: REACTIONS,
  name: 'reactions',
  to: (r) => compact({ id: attr(r, 'id'), reactions: childElements(r).filter((c) => c.name === 'reaction').map(textOf) }),
  from: (v) => {
    if (!isObject(v)) return undefined;
    const list = Array.isArray(v.reactions) ? v.reactions : [];
    return el('reactions', { xmlns: REACTIONS, id: str(v.id) }, list.flatMap((r) => (str(r) === undefined ? [] : [el('reaction', {}, [str(r)!])])));
  },
};

// --- XEP-0191 blocking ---
const BLOCKING = 'urn:xmpp:blocking';
const jidItems = (name: string): Field => ({
  ns: BLOCKING,
  name,
  to: (b) => childElements(b).filter((c) => c.name === 'item').map((c) => attr(c, 'jid') ?? ''),
  from: (v) => el(name, { xmlns: BLOCKING }, (Array.isArray(v) ? v : []).flatMap((j) => {
    const jid = typeof j === 'string' ? j : isObject(j) ? str(j.jid) : undefined;
    return jid === undefined ? [] : [el('item', { jid })];
  })),
});

// --- XEP-0363 HTTP upload ---
const UPLOAD = 'urn:xmpp:http:upload:0';
const uploadSlot: Field = {
  ns: UPLOAD,
  name: 'slot',
  to: (s) => {
    const put = child(s, 'put');
    const get = child(s, 'get');
    return compact({
      put: put ? compact({ url: attr(put, 'url'), headers: childElements(put).filter((h) => h.name === 'header').map((h) => compact({ name: attr(h, 'name'), value: textOf(h) })) }) : undefined,
      get: get ? compact({ url: attr(get, 'url') }) : undefined,
    });
  },
  from: () => undefined,
};

// --- XEP-0215 external service discovery ---
const EXTDISCO = 'urn:xmpp:extdisco:2';
const extdisco: Field = {
  ns: EXTDISCO,
  name: 'services',
  to: (s) => {
    const kinds: Record<string, Kind> = { expires: 'string', host: 'string', name: 'string', password: 'string', port: 'int', restricted: 'bool', transport: 'string', type: 'string', username: 'string' };
    const service = object('service', EXTDISCO, { attrs: kinds });
    return compact({ type: attr(s, 'type'), services: childElements(s).filter((c) => c.name === 'service').map((c) => service.to(c)!) });
  },
  from: (v) => el('services', { xmlns: EXTDISCO, type: isObject(v) ? str(v.type) : undefined }),
};

// --- the tables ---
const NICK = 'http://jabber.org/protocol/nick';
const common: Record<string, Field> = {
  delay: single('delay', DELAY, 'stamp'),
  nick: text('nick', NICK),
  dataform,
};

export const MESSAGE_FIELDS: Readonly<Record<string, Field>> = lookupTable({
  ...common,
  body: text('body'),
  subject: text('subject'),
  thread: object('thread', CLIENT, { attrs: { parent: 'string' }, body: 'id' }),
  html,
  oob_url: { ns: 'jabber:x:oob', name: 'x', to: (x) => childText(x, 'url'), from: (v) => (typeof v === 'string' ? el('x', { xmlns: 'jabber:x:oob' }, [el('url', {}, [v])]) : undefined) },
  replace: single('replace', 'urn:xmpp:message-correct:0', 'id'),
  state: nameIsValue('http://jabber.org/protocol/chatstates', ['active', 'inactive', 'gone', 'composing', 'paused']),
  markable: flag('markable', 'urn:xmpp:chat-markers:0'),
  displayed: single('displayed', 'urn:xmpp:chat-markers:0', 'id'),
  stanza_ids: stanzaIds,
  reactions,
  reply: object('reply', 'urn:xmpp:reply:0', { attrs: { id: 'string', to: 'string' } }),
  fallback: flag('fallback', 'urn:xmpp:fallback:0'),
  encryption: single('encryption', 'urn:xmpp:eme:0', 'namespace'),
  attach_to: single('attach-to', 'urn:xmpp:message-attaching:1', 'id'),
  occupant_id: single('occupant-id', 'urn:xmpp:occupant-id:0', 'id'),
  invite: object('x', 'jabber:x:conference', { attrs: { jid: 'string', reason: 'string', password: 'string', thread: 'string', continue: 'bool' } }),
  archive: archiveResult,
  rsm,
});

export const PRESENCE_FIELDS: Readonly<Record<string, Field>> = lookupTable({
  ...common,
  show: text('show'),
  status: text('status'),
  priority: text('priority', CLIENT, true),
  caps: object('c', 'http://jabber.org/protocol/caps', { attrs: { ext: 'string', hash: 'string', node: 'string', ver: 'string' } }),
  idle_since: single('idle', 'urn:xmpp:idle:1', 'since'),
  muc: {
    ns: 'http://jabber.org/protocol/muc',
    name: 'x',
    to: (x) => {
      const history = child(x, 'history');
      const shape = object('history', '', { attrs: { maxchars: 'int', maxstanzas: 'int', seconds: 'int', since: 'string' } });
      const out: JsonObject = {};
      if (history) out.history = shape.to(history)!;
      return out;
    },
    from: (v) => {
      const h = isObject(v) && isObject(v.history) ? v.history : undefined;
      const history = h ? el('history', { maxchars: str(h.maxchars), maxstanzas: str(h.maxstanzas), seconds: str(h.seconds), since: str(h.since) }) : undefined;
      return v === false ? undefined : el('x', { xmlns: 'http://jabber.org/protocol/muc' }, history ? [history] : []);
    },
  },
  vcard_update: object('x', 'vcard-temp:x:update', { texts: ['photo'] }),
});

export const IQ_FIELDS: Readonly<Record<string, Field>> = lookupTable({
  ...common,
  ping: flag('ping', 'urn:xmpp:ping'),
  version: object('query', 'jabber:iq:version', { texts: ['name', 'version', 'os'] }),
  disco,
  items,
  command,
  lastactivity: object('query', 'jabber:iq:last', { attrs: { seconds: 'int' }, body: 'status' }),
  archive: mamQuery,
  result: mamResult,
  oob: object('query', 'jabber:iq:oob', { texts: ['url', 'desc'] }),
  register: object('query', 'jabber:iq:register', { texts: ['instructions', 'username', 'password', 'nick', 'name', 'first', 'last', 'email', 'address', 'city', 'state', 'zip', 'phone', 'url', 'date', 'misc', 'text', 'key'] }),
  upload_request: object('request', UPLOAD, { attrs: { filename: 'string', size: 'int', 'content-type': 'string' } }),
  upload_slot: uploadSlot,
  blocklist: jidItems('blocklist'),
  block: jidItems('block'),
  unblock: jidItems('unblock'),
  extdisco,
  stats: {
    ns: 'http://jabber.org/protocol/stats',
    name: 'query',
    to: (q) => childElements(q).filter((c) => c.name === 'stat').map((s) => compact({ name: attr(s, 'name'), unit: attr(s, 'unit'), value: attr(s, 'value') === undefined ? undefined : Number(attr(s, 'value')) })),
    from: (v) => el('query', { xmlns: 'http://jabber.org/protocol/stats' }, (Array.isArray(v) ? v : []).flatMap((s) => (isObject(s) && str(s.name) ? [el('stat', { name: str(s.name) })] : []))),
  },
  rsm,
});

export const FIELDS: Readonly<Record<'message' | 'presence' | 'iq', Readonly<Record<string, Field>>>> = lookupTable({
  message: MESSAGE_FIELDS,
  presence: PRESENCE_FIELDS,
  iq: IQ_FIELDS,
});

/** The field a child element stands for in a stanza of this kind, and its key. */
export function fieldOf(kind: 'message' | 'presence' | 'iq', e: XmlElement): [string, Field] | undefined {
  const xmlns = attr(e, 'xmlns') ?? CLIENT;
  for (const [key, field] of Object.entries(FIELDS[kind])) {
    if (field.ns === xmlns && (field.name === null || field.name === e.name)) return [key, field];
  }
  return undefined;
}
