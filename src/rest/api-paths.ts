// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API's paths beyond POST /rest, each turned into the stanza it stands for
// (as Prosody's mod_rest names them, so that its clients work unchanged):
//   POST /rest/message/{type}/{to}   a text/plain body is the message's body
//   GET  /rest/{query}/{to}          an iq get: ping, version, disco, items, lastactivity
//   GET  /rest/archive/{to}?with=&start=&end=&before-id=&after-id=&ids=&after=&before=&max=
//                                    an XEP-0313 query (iq set); the stub collects its results
// The stanza then goes through the same checks as a posted one.
import { randomUUID } from 'node:crypto';
import { badArchiveQuery, badUtf8Command, noSuchPath } from './errors.js';
import type { RestRequest, XmlElement } from './types.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The payload of each GET query (XEP-0199, XEP-0092, XEP-0030, XEP-0012). */
const QUERIES: Readonly<Record<string, () => XmlElement>> = {
  ping: () => el('ping', { xmlns: 'urn:xmpp:ping' }),
  version: () => el('query', { xmlns: 'jabber:iq:version' }),
  disco: () => el('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
  items: () => el('query', { xmlns: 'http://jabber.org/protocol/disco#items' }),
  lastactivity: () => el('query', { xmlns: 'jabber:iq:last' }),
};

const MESSAGE_TYPES: ReadonlySet<string> = new Set(['chat', 'normal', 'headline', 'groupchat']);

function el(name: string, attrs: Record<string, string>, children: XmlElement['children'] = []): XmlElement {
  return { name, attrs: Object.entries(attrs), children };
}

const NS_MAM = 'urn:xmpp:mam:2';
/** XEP-0313 form fields, as Prosody's mod_rest takes them from the query string (ids: comma-separated). */
const ARCHIVE_FIELDS: readonly string[] = ['with', 'start', 'end', 'before-id', 'after-id'];
/** XEP-0059 paging (`before` empty: the last page). */
const ARCHIVE_PAGING: readonly string[] = ['after', 'before'];
/** mod_mam's own cap on a page (limit_max/2): a bigger max gets 250 results anyway. */
export const ARCHIVE_MAX = 250;

/**
 * Whether the request is GET /rest/archive/{to}: the stub must collect the query's results. A
 * full JID's resource is the rest of the path (ejabberd_http splits on an encoded slash too),
 * as Prosody reads `{to}`.
 */
export function isArchivePath(req: RestRequest): boolean {
  return req.method === 'GET' && req.path.length >= 2 && req.path[0] === 'archive';
}

/** The XEP-0313 query iq for GET /rest/archive/{to}; throws BAD_ARCHIVE_QUERY for a bad `max`. */
function archiveQuery(to: string, params: ReadonlyArray<[string, string]>): XmlElement {
  const given = new Map(params); // a repeated parameter: the last one, as Prosody's form decoding does
  const fields: XmlElement[] = [];
  for (const name of ARCHIVE_FIELDS) {
    const value = given.get(name);
    if (value !== undefined) fields.push(el('field', { var: name }, [el('value', {}, [value])]));
  }
  const ids = given.get('ids');
  if (ids !== undefined) {
    const values = ids.split(',').filter((id) => id !== '').map((id) => el('value', {}, [id]));
    fields.push(el('field', { var: 'ids' }, values));
  }
  const paging: XmlElement[] = [];
  const max = given.get('max');
  if (max !== undefined) {
    if (!/^\d{1,9}$/.test(max)) throw badArchiveQuery('max not a whole number');
    paging.push(el('max', {}, [String(Math.min(Number(max), ARCHIVE_MAX))]));
  }
  for (const name of ARCHIVE_PAGING) {
    const value = given.get(name);
    if (value !== undefined) paging.push(el(name, {}, value === '' ? [] : [value]));
  }
  const query: XmlElement['children'] = [];
  if (fields.length > 0) {
    const formType = el('field', { var: 'FORM_TYPE', type: 'hidden' }, [el('value', {}, [NS_MAM])]);
    query.push(el('x', { xmlns: 'jabber:x:data', type: 'submit' }, [formType, ...fields]));
  }
  if (paging.length > 0) query.push(el('set', { xmlns: 'http://jabber.org/protocol/rsm' }, paging));
  return el('iq', { type: 'set', id: randomUUID(), to }, [el('query', { xmlns: NS_MAM, queryid: randomUUID() }, query)]);
}

/** The stanza a path stands for; throws NO_SUCH_PATH for any other path or method. */
export function stanzaForPath(req: RestRequest): XmlElement {
  const [first, second, third, ...rest] = req.path;
  if (isArchivePath(req)) return archiveQuery(req.path.slice(1).join('/'), req.query ?? []);
  if (req.method === 'GET' && first !== undefined && second !== undefined && third === undefined) {
    const query = QUERIES[first];
    if (query) return el('iq', { type: 'get', id: randomUUID(), to: second }, [query()]);
  }
  if (req.method === 'POST' && first === 'message' && second !== undefined && third !== undefined && rest.length === 0) {
    if (!MESSAGE_TYPES.has(second)) throw noSuchPath();
    let text: string;
    try {
      text = UTF8.decode(req.body);
    } catch (cause) {
      throw badUtf8Command(cause);
    }
    return el('message', { type: second, to: third, id: randomUUID() }, [el('body', {}, [text])]);
  }
  throw noSuchPath();
}
