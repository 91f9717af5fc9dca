// SPDX-License-Identifier: GPL-2.0-or-later
// One XMPP stanza from an HTTP body into ejabberd's #xmlel{} shape.
//
// saxes never expands entities (no billion laughs, no XXE), but it accepts DTDs and processing
// instructions and, given an error listener, goes on parsing: here DTDs and PIs are rejected
// (RFC 6120 §11.1) and the first error of any kind is fatal. The tree is built iteratively from
// events and its depth is capped while parsing, so nothing ever recurses over client input.

import { SaxesParser } from 'saxes';
import { rejected, tooManyElements, type RejectReason } from './errors.js';
import type { XmlElement } from './types.js';

/** Real stanzas nest ~20 deep; deeper trees are attacks and would overflow recursive encoders/decoders downstream. */
export const MAX_XML_DEPTH = 256;
/** Real stanzas hold tens of elements, a big MAM page or data form a few thousand. */
export const MAX_XML_ELEMENTS = 10_000;

/** Fatal: invalid UTF-8 throws instead of becoming U+FFFD (RFC 6120 §11.6). Stateless when not streaming. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** XML whitespace (the S production): the only text allowed outside the root element. */
const NON_WHITESPACE = /[^ \t\r\n]/;

/** saxes' wording for the well-formedness errors that have a reason of their own in our logs. */
const SAXES_REASONS: ReadonlyMap<string, RejectReason> = new Map([
  ['documents may contain only one root.', 'multiple roots'],
  ['text data outside of root node.', 'text outside root'],
  ['document must contain a root element.', 'no root'],
]);

function reasonOf(err: Error): RejectReason {
  // saxes prefixes its messages with "line:column: ".
  const text = err.message.replace(/^\d+:\d+: /, '');
  return SAXES_REASONS.get(text) ?? 'malformed xml';
}

/**
 * Parse a body holding exactly one XML element (optionally preceded by an XML declaration and
 * whitespace). Throws a RestError (REJECTED) on anything else, with the reason in `reason`.
 */
export function parseStanza(body: Buffer, maxDepth: number, maxElements = MAX_XML_ELEMENTS): XmlElement {
  let text: string;
  try {
    text = UTF8.decode(body); // also drops a leading BOM
  } catch (cause) {
    throw rejected('invalid utf-8', cause);
  }
  return TreeBuilder.shared().parse(text, maxDepth, maxElements);
}

/**
 * Builds the tree from one saxes parser, reused from body to body: setting a parser up costs
 * about as much as parsing a small stanza. saxes resets itself after a complete document; after
 * an error, which leaves it mid-document, the builder is replaced. Parsing is synchronous, so one
 * builder per process is never used by two bodies at once.
 */
class TreeBuilder {
  private static current: TreeBuilder | null = null;

  static shared(): TreeBuilder {
    TreeBuilder.current ??= new TreeBuilder();
    return TreeBuilder.current;
  }

  private readonly parser = new SaxesParser({ xmlns: false });
  private stack: XmlElement[] = [];
  private root: XmlElement | null = null;
  private maxDepth = MAX_XML_DEPTH;
  private elementsLeft = MAX_XML_ELEMENTS;

  private constructor() {
    const parser = this.parser;
    parser.on('error', (err) => {
      throw rejected(reasonOf(err), err);
    });
    parser.on('doctype', () => {
      throw rejected('doctype');
    });
    // The XML declaration is reported as 'xmldecl' (and saxes errors if it is not at the very
    // start); every other <?...?> lands here.
    parser.on('processinginstruction', () => {
      throw rejected('processing instruction');
    });
    parser.on('opentag', (tag) => this.open(tag.name, tag.attributes));
    parser.on('closetag', () => {
      this.stack.pop();
    });
    parser.on('text', (data) => this.addText(data));
    parser.on('cdata', (data) => this.addText(data));
    // Comments have no 'comment' listener: they are dropped.
  }

  parse(text: string, maxDepth: number, maxElements: number): XmlElement {
    this.stack = [];
    this.root = null;
    this.maxDepth = maxDepth;
    this.elementsLeft = maxElements;
    try {
      this.parser.write(text).close();
    } catch (err) {
      TreeBuilder.current = null;
      throw err;
    }
    const root = this.root;
    const open = this.stack.length;
    this.stack = [];
    this.root = null; // nothing of this body is kept until the next one
    if (root === null) throw rejected('no root');
    if (open !== 0) throw rejected('malformed xml');
    return root;
  }

  private open(name: string, attributes: Record<string, string>): void {
    const stack = this.stack;
    if (stack.length === 0 && this.root !== null) throw rejected('multiple roots');
    if (stack.length >= this.maxDepth) throw rejected('too deep');
    if (--this.elementsLeft < 0) throw tooManyElements();
    // Object key order is insertion order for non-integer keys, and XML names never look like
    // integers, so this is document order. saxes already rejected duplicate attributes.
    const el: XmlElement = { name, attrs: Object.entries(attributes), children: [] };
    const parent = stack[stack.length - 1];
    if (parent === undefined) this.root = el;
    else parent.children.push(el);
    stack.push(el);
  }

  private addText(data: string): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) {
      // Outside the root: whitespace is fine, anything else is not a single element.
      if (NON_WHITESPACE.test(data)) throw rejected('text outside root');
      return;
    }
    if (data === '') return;
    const children = parent.children;
    const last = children.length - 1;
    const prev = children[last];
    if (typeof prev === 'string') children[last] = prev + data;
    else children.push(data);
  }
}
