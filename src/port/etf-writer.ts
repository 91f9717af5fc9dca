// SPDX-License-Identifier: GPL-2.0-or-later
// Writes the worker's outgoing terms (OutTerm) as External Term Format, straight into one
// buffer that already carries the {packet, 4} length header.
//
// Why not erlang_js here: it builds an object per term and concatenates a Buffer per tuple,
// which cost ~9 us a reply, the largest single item in the worker's profile (make bench).
// Our outgoing terms are a closed set (atoms, tuples, lists, binaries, 32-bit integers), so
// a two-pass writer (size, then write) is short, and the tests hold it to Erlang's own
// term_to_binary bytes (test/erl/mod_rest_frames_tests.erl) and to erlang_js's decoder.
import { Atom, Tuple, type OutTerm } from './etf.js';

const VERSION = 131;
const SMALL_INTEGER_EXT = 97; // 0..255
const INTEGER_EXT = 98; // signed 32-bit
const SMALL_TUPLE_EXT = 104;
const LARGE_TUPLE_EXT = 105;
const NIL_EXT = 106;
const LIST_EXT = 108;
const BINARY_EXT = 109;
const SMALL_ATOM_UTF8_EXT = 119; // what term_to_binary writes since OTP 26; read since R16

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const HEADER_BYTES = 4;

/** The term as a {packet, 4} frame: length header, then term_to_binary bytes. */
export function encodeFrame(term: OutTerm): Buffer {
  const size = 1 + sizeOf(term);
  const out = Buffer.allocUnsafe(HEADER_BYTES + size);
  out.writeUInt32BE(size, 0);
  out[HEADER_BYTES] = VERSION;
  const end = write(out, HEADER_BYTES + 1, term);
  if (end !== out.length) throw new Error(`ETF writer: sized ${out.length} bytes, wrote ${end}`);
  return out;
}

/** The term's term_to_binary bytes, without a frame header. */
export function encodeTerm(term: OutTerm): Buffer {
  return encodeFrame(term).subarray(HEADER_BYTES);
}

function sizeOf(term: OutTerm): number {
  if (typeof term === 'string') return 5 + utf8Length(term);
  if (Buffer.isBuffer(term)) return 5 + term.length;
  if (typeof term === 'number') return checkedInt(term) >= 0 && term <= 255 ? 2 : 5;
  if (term instanceof Atom) return atomBytes(term).length;
  if (term instanceof Tuple) {
    let size = term.items.length <= 255 ? 2 : 5;
    for (const item of term.items) size += sizeOf(item as OutTerm);
    return size;
  }
  if (term.length === 0) return 1;
  let size = 6; // LIST_EXT, length, and the NIL_EXT tail
  for (const item of term) size += sizeOf(item);
  return size;
}

function write(out: Buffer, at: number, term: OutTerm): number {
  if (typeof term === 'string') {
    const length = writeUtf8(out, at + 5, term);
    out[at] = BINARY_EXT;
    out.writeUInt32BE(length, at + 1);
    return at + 5 + length;
  }
  if (Buffer.isBuffer(term)) {
    out[at] = BINARY_EXT;
    out.writeUInt32BE(term.length, at + 1);
    term.copy(out, at + 5);
    return at + 5 + term.length;
  }
  if (typeof term === 'number') {
    if (term >= 0 && term <= 255) {
      out[at] = SMALL_INTEGER_EXT;
      out[at + 1] = term;
      return at + 2;
    }
    out[at] = INTEGER_EXT;
    out.writeInt32BE(term, at + 1);
    return at + 5;
  }
  if (term instanceof Atom) {
    const bytes = atomBytes(term);
    out.set(bytes, at);
    return at + bytes.length;
  }
  if (term instanceof Tuple) {
    const arity = term.items.length;
    if (arity <= 255) {
      out[at] = SMALL_TUPLE_EXT;
      out[at + 1] = arity;
      at += 2;
    } else {
      out[at] = LARGE_TUPLE_EXT;
      out.writeUInt32BE(arity, at + 1);
      at += 5;
    }
    for (const item of term.items) at = write(out, at, item as OutTerm);
    return at;
  }
  if (term.length === 0) {
    out[at] = NIL_EXT;
    return at + 1;
  }
  out[at] = LIST_EXT;
  out.writeUInt32BE(term.length, at + 1);
  at += 5;
  for (const item of term) at = write(out, at, item);
  out[at] = NIL_EXT;
  return at + 1;
}

function checkedInt(n: number): number {
  if (!Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
    throw new RangeError(`integer ${n} is outside the protocol's 32-bit range`);
  }
  return n;
}

// Atoms are interned and few (the protocol's own names): their encoding is kept.
const atomCache = new Map<Atom, Buffer>();

function atomBytes(a: Atom): Buffer {
  let bytes = atomCache.get(a);
  if (bytes === undefined) {
    const name = Buffer.from(a.name, 'utf8');
    // The protocol's atoms are short names of ours; a longer one is a bug, not data.
    if (name.length > 255) throw new RangeError(`atom ${a.name.slice(0, 20)}... is longer than 255 bytes`);
    bytes = Buffer.concat([Buffer.from([SMALL_ATOM_UTF8_EXT, name.length]), name]);
    atomCache.set(a, bytes);
  }
  return bytes;
}

// Most strings here are short and ASCII (names, JIDs, short bodies): a plain loop beats
// Buffer's native UTF-8 calls, whose fixed cost dominates at this size.
const SHORT = 64;

function utf8Length(s: string): number {
  if (s.length <= SHORT) {
    let i = 0;
    while (i < s.length && s.charCodeAt(i) < 0x80) i++;
    if (i === s.length) return i;
  }
  return Buffer.byteLength(s, 'utf8');
}

function writeUtf8(out: Buffer, at: number, s: string): number {
  if (s.length <= SHORT) {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + i] = c;
    }
    if (i === s.length) return i;
  }
  return out.write(s, at, 'utf8');
}
