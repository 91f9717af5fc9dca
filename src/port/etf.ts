// SPDX-License-Identifier: GPL-2.0-or-later
// The worker's Erlang terms, and a small typed adapter over erlang_js, which decodes the
// External Term Format frames ejabberd sends. The protocol keeps to the terms erlang_js
// handles well (platform-notes.md): binaries, atoms from a fixed set, small integers, tuples,
// lists and maps with atom or binary keys. Outgoing terms are written by etf-writer.ts.
import { Erlang } from 'erlang_js';

/** An Erlang atom. Interned, so atoms compare with `===`. */
export class Atom {
  private static readonly table = new Map<string, Atom>();
  private constructor(readonly name: string) {}
  static of(name: string): Atom {
    let atom = Atom.table.get(name);
    if (atom === undefined) {
      atom = new Atom(name);
      Atom.table.set(name, atom);
    }
    return atom;
  }
  toString(): string {
    return this.name;
  }
}

export const atom = Atom.of;

/** An Erlang tuple: decoded ones hold Terms; ones built to send may hold strings too. */
export class Tuple {
  readonly items: readonly (Term | OutTerm)[];
  constructor(...items: (Term | OutTerm)[]) {
    this.items = items;
  }
}

/** Map keys are atoms or binaries on the wire; here both become strings. */
export type TermMap = Map<string, Term>;

/** Erlang terms as the worker sees them: binaries are Buffers, lists are arrays. */
export type Term = Atom | Tuple | Buffer | number | Term[] | TermMap;

/** Terms the worker may send; JS strings go out as UTF-8 binaries. */
export type OutTerm = Atom | Tuple | Buffer | string | number | OutTerm[];

/** A frame that is not a term we can read. Its connection is unusable: the stub restarts us. */
export class EtfDecodeError extends Error {
  readonly code = 'ETF_DECODE';
}

export function decode(frame: Buffer): Term {
  let out: unknown;
  let failure: Error | undefined;
  if (frame.length > 1 && frame[1] === 80) {
    // Compressed terms make erlang_js answer asynchronously; the stub never sends them.
    throw new EtfDecodeError('compressed terms are not part of the protocol');
  }
  Erlang.binary_to_term(frame, (err, term) => {
    failure = err;
    out = term;
  });
  if (failure !== undefined) {
    throw new EtfDecodeError(`bad ETF frame: ${failure.message ?? String(failure)}`);
  }
  return fromErlangJs(out);
}

const ASCII = /^[\x00-\x7f]*$/;

function fromErlangJs(value: unknown): Term {
  // erlang_js turns the atoms true, false and undefined into JS values.
  if (value === true) return atom('true');
  if (value === false) return atom('false');
  if (value === null) return atom('undefined');
  if (typeof value === 'number') return value;
  // A list of small integers arrives as a latin-1 string (STRING_EXT).
  if (typeof value === 'string') return Array.from(value, (c) => c.charCodeAt(0));
  if (Array.isArray(value)) return new Tuple(...value.map(fromErlangJs));
  if (value instanceof Erlang.OtpErlangAtom && typeof value.value === 'string') {
    // erlang_js gives UTF-8 atoms as latin-1 strings; the protocol's own atoms are ASCII, for
    // which both read the same (the conversion was half the cost of decoding a request).
    const name = value.value;
    return atom(ASCII.test(name) ? name : Buffer.from(name, 'latin1').toString('utf8'));
  }
  if (value instanceof Erlang.OtpErlangBinary && value.bits === 8) return value.value;
  if (value instanceof Erlang.OtpErlangList && !value.improper) return value.value.map(fromErlangJs);
  if (value instanceof Erlang.OtpErlangMap) {
    const map: TermMap = new Map();
    for (const [key, item] of value.value) {
      map.set(mapKey(fromErlangJs(key)), fromErlangJs(item));
    }
    return map;
  }
  throw new EtfDecodeError('a term the protocol does not use (pid, ref, fun, float, bitstring, improper list)');
}

function mapKey(key: Term): string {
  if (key instanceof Atom) return key.name;
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  throw new EtfDecodeError('map keys must be atoms or binaries');
}
