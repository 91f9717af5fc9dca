// SPDX-License-Identifier: GPL-2.0-or-later
// JSON and form bodies bounded as XML is (security issue 16, item 3): by max_xml_elements and
// max_xml_depth, counted in one pass over the bytes before JSON.parse or URLSearchParams builds
// anything, so that a body of 650,000 small objects is refused in microseconds a kilobyte
// instead of parsed into a heap of objects first.
import { jsonTooLarge } from './errors.js';

/** Limits of the stanza parser, from the vhost's policy; JSON and form bodies get the same. */
export interface ParseLimits {
  maxXmlDepth: number;
  maxXmlElements: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const AMPERSAND = 0x26;

/**
 * Throws JSON_TOO_LARGE when the body holds more values (array items and object members: each
 * becomes at most an element) than maxXmlElements, or nests deeper than maxXmlDepth. Counts
 * structure outside strings only; a body that is not JSON is left to JSON.parse to refuse.
 */
export function checkJsonBounds(body: Uint8Array, limits: ParseLimits): void {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > limits.maxXmlDepth) throw jsonTooLarge('too deep');
      if (++values > limits.maxXmlElements) throw jsonTooLarge('too many values');
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
    else if (b === COMMA && ++values > limits.maxXmlElements) throw jsonTooLarge('too many values');
  }
}

/** Throws JSON_TOO_LARGE when form fields (a=1&b=2) are more than maxXmlElements. */
export function checkFormBounds(body: Uint8Array, limits: ParseLimits): void {
  let fields = 1;
  for (let i = body.indexOf(AMPERSAND); i !== -1; i = body.indexOf(AMPERSAND, i + 1)) {
    if (++fields > limits.maxXmlElements) throw jsonTooLarge('too many form fields');
  }
}
