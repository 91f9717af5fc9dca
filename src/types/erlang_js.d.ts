// SPDX-License-Identifier: GPL-2.0-or-later
// Hand-written declarations for the parts of erlang_js (2.0.7) that src/port/etf.ts uses.
// erlang_js ships no types. Its model: JS arrays are tuples, OtpErlangList is a list,
// OtpErlangBinary wraps a Buffer, OtpErlangMap wraps a Map, true/false/undefined are atoms.
declare module 'erlang_js' {
  namespace Erlang {
    class OtpErlangAtom {
      constructor(value: string, utf8?: boolean);
      value: string | number;
    }
    class OtpErlangBinary {
      constructor(value: Buffer, bits?: number);
      value: Buffer;
      bits: number;
    }
    class OtpErlangList {
      constructor(value: unknown[], improper?: boolean);
      value: unknown[];
      improper: boolean;
    }
    class OtpErlangMap {
      constructor(value: Map<unknown, unknown>);
      value: Map<unknown, unknown>;
    }
    function binary_to_term(data: Buffer, callback: (err: Error | undefined, term: unknown) => void): void;
    function term_to_binary(term: unknown, callback: (err: Error | undefined, data: Buffer) => void): void;
  }
  export { Erlang };
}
