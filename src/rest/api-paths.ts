// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API's paths beyond POST /rest, each turned into the stanza it stands for
// (as Prosody's mod_rest names them, so that its clients work unchanged):
//   POST /rest/message/{type}/{to}   a text/plain body is the message's body
//   GET  /rest/{query}/{to}          an iq get: ping, version, disco, items, lastactivity
// The stanza then goes through the same checks as a posted one.
import { randomUUID } from 'node:crypto';
import { badUtf8Command, noSuchPath } from './errors.js';
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

/** The stanza a path stands for; throws NO_SUCH_PATH for any other path or method. */
export function stanzaForPath(req: RestRequest): XmlElement {
  const [first, second, third, ...rest] = req.path;
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
