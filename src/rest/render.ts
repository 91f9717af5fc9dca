// SPDX-License-Identifier: GPL-2.0-or-later
// The authenticated API's answers as documents: a stanza (an iq's reply, an echo) in XML, JSON or
// form fields, and an error as plain words, Prosody's error object or an XMPP stream error
// (RFC 6120 §4.9), each as the request's Accept asks (negotiate.ts).
import { corsOfStubAnswer, type BrowserFields, type BrowserPolicy } from './browser.js';
import { CATALOGUE, conditionOf, type CatalogueEntry, type RestErrorCode } from './errors.js';
import { formFromJson, jsonFromStanza } from './jsonmap.js';
import { errorFormat, MEDIA_TYPE, stanzaFormat } from './negotiate.js';
import type { Action, XmlElement } from './types.js';
import { el, writeXml } from './xml-writer.js';

type Document = Extract<Action, { kind: 'document' }>;

/** What the answer is negotiated from. */
export interface Negotiation {
  accept?: string;
  contentType?: string;
  /** The vhost: the realm of WWW-Authenticate. */
  host: string;
}

/** A stanza answer with the status the stub chose (200, or an iq error's). */
export function renderStanza(stanza: XmlElement, status: number, n: Negotiation): Document {
  const format = stanzaFormat(n.accept, n.contentType);
  if (format === 'xml') return document(status, [], MEDIA_TYPE.xml, writeXml(stanza));
  const json = jsonFromStanza(stanza) ?? {};
  return document(status, [], MEDIA_TYPE[format], format === 'json' ? JSON.stringify(json) : formFromJson(json));
}

const STREAMS = 'http://etherx.jabber.org/streams';
const STREAM_ERRORS = 'urn:ietf:params:xml:ns:xmpp-streams';

/** An error answer; `detail` (e.g. the XMPP codec's words) is added to its text. */
export function renderError(code: RestErrorCode, n: Negotiation, detail?: string): Document {
  const entry: CatalogueEntry = CATALOGUE[code];
  const headers = errorHeaders(entry, n.host);
  // The detail can hold request data (a JSON kind): a bounded excerpt only.
  const words = detail === undefined ? entry.body : `${entry.body.replace(/\.$/, '')}: ${detail.slice(0, 200)}.`;
  const format = errorFormat(n.accept, n.contentType);
  if (format === 'text') return document(entry.status, headers, MEDIA_TYPE.text, words);
  const { condition, type } = conditionOf(entry);
  const text = words.replace(/^Error: /, '');
  if (format === 'json') {
    const error = { type, condition, text, code: entry.status, source: 'mod_rest', id: code };
    return document(entry.status, headers, MEDIA_TYPE.json, JSON.stringify({ type: 'error', code: entry.status, error }));
  }
  const stream = el('error', { xmlns: STREAMS }, [el(condition, { xmlns: STREAM_ERRORS }), el('text', { xmlns: STREAM_ERRORS }, [text])]);
  return document(entry.status, headers, MEDIA_TYPE.xml, writeXml(stream));
}

/**
 * What the stub asks the worker to write for an API answer it decided in the VM (a render
 * frame), with the browser fields of its request when a browser sent it.
 */
export type RenderJob = Negotiation & { browser?: BrowserFields } & (
    | { what: 'stanza'; stanza: XmlElement; status: number }
    | { what: 'error'; code: RestErrorCode; detail?: string }
  );

/**
 * A render frame's job: what the stub decided, written as the request asked, with the CORS
 * headers a listed origin's page gets (browser.ts; `policy` is the vhost's).
 */
export function renderJob(job: RenderJob, policy?: BrowserPolicy): Document {
  const answer = job.what === 'stanza' ? renderStanza(job.stanza, job.status, job) : renderError(job.code, job, job.detail);
  const cors = job.browser === undefined ? [] : corsOfStubAnswer(job.browser, policy);
  return cors.length === 0 ? answer : { ...answer, headers: [...answer.headers, ...cors] };
}

function errorHeaders(entry: CatalogueEntry, host: string): Array<[string, string]> {
  const realm = JSON.stringify(`${host}/rest`);
  if (entry.status === 401) return [['WWW-Authenticate', `Basic realm=${realm}, Bearer realm=${realm}`]];
  if (entry.retryAfter !== undefined) return [['Retry-After', String(entry.retryAfter)]];
  return [];
}

function document(status: number, headers: Array<[string, string]>, contentType: string, body: string): Document {
  return { kind: 'document', status, headers, contentType, body };
}
