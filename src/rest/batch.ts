// SPDX-License-Identifier: GPL-2.0-or-later
// Many stanzas in one request of the authenticated API (issue 18, item 2): POST /rest with
//   application/json                       a JSON array of stanzas in Prosody's mapping
//   application/x-ndjson                   one such JSON object per line
//   application/vnd.mod-rest.stanzas+xml   several XML stanzas one after the other
// (a JSON array was refused 422 before, and the other two types 415: no old client meets them).
// Each item is read and checked as one stanza posted alone would be, and refused alone: the
// caller's check applies the policy; an iq is refused (BATCH_IQ) since its answer is a reply that
// a batch has no place for. Nothing is sent here: the stub sends the items in order, in the VM,
// once all of them are read, so that a worker that dies cannot leave a batch half sent.
import { checkJsonBounds } from './body-bounds.js';
import { apiError, batchTooLarge, batchTooManyItems, batchIq, badJson, rejected, stanzaTooLarge, tooManyElements, type RestErrorCode } from './errors.js';
import { parseJsonBody, stanzaFromJson, type Json } from './jsonmap.js';
import { JSON_TYPE } from './negotiate.js';
import { parseStanza } from './stanza.js';
import { writeXml } from './xml-writer.js';
import type { RestRequest, XmlElement } from './types.js';

export const NDJSON = 'application/x-ndjson';
export const STANZAS_XML = 'application/vnd.mod-rest.stanzas+xml';
/** The media types only a batch has (a JSON array is told from one stanza by its first byte). */
export const BATCH_MEDIA_TYPES: ReadonlySet<string> = new Set([NDJSON, STANZAS_XML]);

export interface BatchLimits {
  /** Most items in one request (api_max_batch_items). */
  readonly maxItems: number;
  /** Largest request in bytes (api_max_batch_size; the stub refuses a larger one first). */
  readonly maxBytes: number;
  /** Largest item, in bytes of the stanza it makes, written as XML (api_max_stanza_size). */
  readonly maxItemSize: number;
  readonly maxXmlDepth: number;
  readonly maxXmlElements: number;
}

/** One item's fate as the worker decides it: to be sent by the stub, or refused with a catalogue code. */
export type BatchItem = { kind: 'send'; stanza: XmlElement } | { kind: 'refused'; code: RestErrorCode };

/** Fatal: invalid UTF-8 is refused, not read as U+FFFD (RFC 6120 §11.6); drops a leading BOM. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const OPEN_BRACKET = 0x5b; // '['
const WRAPPER = 'mod-rest-batch';

/** Whether a POST /rest of the API is a batch: by its media type, or a JSON body that is an array. */
export function isBatchRequest(req: RestRequest): boolean {
  if (req.contentType === undefined) return false;
  if (BATCH_MEDIA_TYPES.has(req.contentType)) return true;
  return req.contentType === JSON_TYPE && firstByte(req.body) === OPEN_BRACKET;
}

function firstByte(body: Buffer): number | undefined {
  for (const b of body) if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return b;
  return undefined;
}

/**
 * The batch's items, each checked by `check` (the one-stanza policy: kind, namespace, type,
 * destination), in order. A body that does not parse as a whole, or holds more than maxItems
 * items, throws (the request is refused and nothing is sent); an item that fails is refused alone.
 */
export function batchItems(req: RestRequest, limits: BatchLimits, check: (stanza: XmlElement) => XmlElement): BatchItem[] {
  if (req.body.length > limits.maxBytes) throw batchTooLarge();
  const raw = req.contentType === STANZAS_XML ? xmlItems(req.body, limits) : jsonItems(req, limits);
  // A stanza is at most 8 times its JSON (escaping, `<item jid='a'/>` from a 4-byte item): only a
  // body that could make an item over the limit has its items written out to be measured.
  const measure = req.body.length * 8 > limits.maxItemSize;
  return raw.map((item) => {
    try {
      const stanza = item();
      if (stanza.name === 'iq') throw batchIq();
      // As one stanza's: max_xml_elements, and api_max_stanza_size of the stanza as it will be sent.
      if (elementCount(stanza) > limits.maxXmlElements) throw tooManyElements();
      if (measure && Buffer.byteLength(writeXml(stanza)) > limits.maxItemSize) throw stanzaTooLarge();
      return { kind: 'send', stanza: check(stanza) };
    } catch (err) {
      return { kind: 'refused', code: apiError(err).code };
    }
  });
}

type PendingItem = () => XmlElement;

function counted<T>(items: T[], limits: BatchLimits): T[] {
  if (items.length > limits.maxItems) throw batchTooManyItems();
  return items;
}

function jsonItems(req: RestRequest, limits: BatchLimits): PendingItem[] {
  if (req.contentType === NDJSON) {
    const lines = ndjsonLines(req.body);
    counted(lines, limits);
    return lines.map((line) => () => {
      checkJsonBounds(line, limits);
      return stanzaFromJson(parseJsonBody(line));
    });
  }
  // The whole array counted before it is parsed, as one body is: an item's own bound once parsed.
  checkJsonBounds(req.body, { maxXmlDepth: limits.maxXmlDepth + 1, maxXmlElements: limits.maxXmlElements * limits.maxItems + 1 });
  const array = parseJsonBody(req.body);
  if (!Array.isArray(array)) throw badJson('not an array');
  return counted(array, limits).map((value: Json) => () => stanzaFromJson(value));
}

/** NDJSON's lines (LF or CRLF), blank ones skipped; each a Buffer, parsed on its own. */
function ndjsonLines(body: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    const line = body.subarray(start, end);
    if (firstByte(line) !== undefined) lines.push(line);
    start = end + 1;
  }
  return lines;
}

/**
 * Several XML stanzas in a row, read as the children of a wrapper: one parse for the whole body,
 * its element bound maxItems times an item's, then each item held to an item's bounds.
 */
function xmlItems(body: Buffer, limits: BatchLimits): PendingItem[] {
  let text: string;
  try {
    text = UTF8.decode(body).replace(/^\s*<\?xml[^>]*\?>/, '');
  } catch (cause) {
    throw rejected('invalid utf-8', cause);
  }
  if (text.includes(`</${WRAPPER}`)) throw rejected('malformed xml');
  const wrapper = parseStanza(
    Buffer.from(`<${WRAPPER}>${text}</${WRAPPER}>`),
    limits.maxXmlDepth + 1,
    limits.maxXmlElements * Math.max(1, limits.maxItems) + 1,
  );
  if (wrapper.children.some((c) => typeof c === 'string' && /[^ \t\r\n]/.test(c))) throw rejected('text outside root');
  const items = wrapper.children.filter((c): c is XmlElement => typeof c !== 'string');
  return counted(items, limits).map((stanza) => () => stanza);
}

function elementCount(root: XmlElement): number {
  let count = 0;
  const stack: XmlElement[] = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    count++;
    for (const c of el.children) if (typeof c !== 'string') stack.push(c);
  }
  return count;
}
