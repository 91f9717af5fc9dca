// SPDX-License-Identifier: GPL-2.0-or-later
// Content negotiation for the authenticated API: which media type a request body is, and in
// which one its answer goes back (the Accept header, RFC 9110 §12.5.1, read by `negotiator`,
// the parser Express and Koa use: q-values, wildcards and ties done right).
import Negotiator from 'negotiator';
import { lookupTable } from './lookup.js';

export const XMPP_XML = 'application/xmpp+xml';
export const JSON_TYPE = 'application/json';
export const FORM = 'application/x-www-form-urlencoded';
export const TEXT = 'text/plain';

/** How a stanza answer (an iq reply, an echo) is written. */
export type StanzaFormat = 'xml' | 'json' | 'form';
/** How an error answer is written: plain words, Prosody's error object, or an XMPP stream error. */
export type ErrorFormat = 'text' | 'json' | 'xml';

const STANZA_TYPES: Readonly<Record<string, StanzaFormat>> = lookupTable({ [XMPP_XML]: 'xml', [JSON_TYPE]: 'json', [FORM]: 'form' });
const ERROR_TYPES: Readonly<Record<string, ErrorFormat>> = lookupTable({ [TEXT]: 'text', [JSON_TYPE]: 'json', [XMPP_XML]: 'xml' });

/** The media types an API request body may have, and what each is read as. */
export type BodyKind = 'xml' | 'json' | 'form' | 'text';
const BODY_TYPES: Readonly<Record<string, BodyKind>> = lookupTable({
  [XMPP_XML]: 'xml',
  // XML under its generic names too: Prosody answers 415 to these, a needless refusal.
  'application/xml': 'xml',
  'text/xml': 'xml',
  [JSON_TYPE]: 'json',
  [FORM]: 'form',
  [TEXT]: 'text',
});

/** "Application/JSON; charset=utf-8" -> "application/json". */
export function mediaType(header: string): string {
  return header.split(';')[0]!.trim().toLowerCase();
}

/** What an API request's Content-Type says the body is; null for a media type the API does not read. */
export function bodyKind(contentType: string | undefined): BodyKind | null | undefined {
  if (contentType === undefined || contentType === '') return undefined;
  return BODY_TYPES[contentType] ?? null;
}

/**
 * The preferred type of `table` that Accept names. An Accept that names none of them (curl's
 * default Accept of any type, a browser's text/html) states no preference here: the caller's default applies.
 */
function pick<T extends string>(accept: string | undefined, table: Readonly<Record<string, T>>): T | undefined {
  if (accept === undefined) return undefined;
  const lower = accept.toLowerCase();
  if (!Object.keys(table).some((type) => lower.includes(type))) return undefined;
  const chosen = new Negotiator({ headers: { accept } }).mediaType(Object.keys(table));
  return chosen === undefined ? undefined : table[chosen];
}

/**
 * The format of a stanza answer: the preferred of XML, JSON and form that Accept names; else the
 * request body's own format (as Prosody does: JSON in, JSON out), else XML. An Accept that
 * refuses all three is not answered 406 (that would lose an iq's answer): it gets the default.
 */
export function stanzaFormat(accept: string | undefined, contentType: string | undefined): StanzaFormat {
  return pick(accept, STANZA_TYPES) ?? (contentType === JSON_TYPE ? 'json' : contentType === FORM ? 'form' : 'xml');
}

/** The format of an error answer: what Accept names of text, JSON and XMPP's XML; else JSON for a JSON body, else text. */
export function errorFormat(accept: string | undefined, contentType: string | undefined): ErrorFormat {
  return pick(accept, ERROR_TYPES) ?? (contentType === JSON_TYPE ? 'json' : 'text');
}

export const MEDIA_TYPE: Readonly<Record<StanzaFormat | ErrorFormat, string>> = {
  xml: XMPP_XML,
  json: JSON_TYPE,
  form: FORM,
  text: 'text/plain; charset=utf-8',
};
