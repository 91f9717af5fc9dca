// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import fc from 'fast-check';
import { Erlang } from 'erlang_js';
import { atom, Atom, decode, EtfDecodeError, Tuple, type OutTerm } from '../../src/port/etf.js';
import { encodeFrame, encodeTerm } from '../../src/port/etf-writer.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

describe('etf: terms, the erlang_js decoder and the ETF writer', () => {
  it('interns atoms, so they compare with ===', () => {
    expect(atom('route')).to.equal(Atom.of('route'));
  });

  it('round-trips tuples, lists, binaries, atoms and small integers', () => {
    const term = new Tuple(atom('reply'), 42, [Buffer.from('a'), Buffer.from('b')], atom('none'));
    const back = decode(encodeTerm(term)) as Tuple;
    expect(back).to.be.instanceOf(Tuple);
    expect(back.items[0]).to.equal(atom('reply'));
    expect(back.items[1]).to.equal(42);
    expect(back.items[2]).to.deep.equal([Buffer.from('a'), Buffer.from('b')]);
    expect(back.items[3]).to.equal(atom('none'));
  });

  it('sends JS strings as UTF-8 binaries, not charlists', () => {
    expect(decode(encodeTerm('h\u00e9'))).to.deep.equal(Buffer.from('h\u00e9', 'utf8'));
  });

  it('gives back true, false and undefined as atoms', () => {
    expect(decode(encodeTerm(atom('true')))).to.equal(atom('true'));
    expect(decode(encodeTerm(atom('false')))).to.equal(atom('false'));
    expect(decode(encodeTerm(atom('undefined')))).to.equal(atom('undefined'));
  });

  it('reads a non-ASCII atom as Erlang wrote it (UTF-8)', () => {
    // term_to_binary('é', [{minor_version, 2}])
    expect(decode(Buffer.from([131, 119, 2, 0xc3, 0xa9]))).to.equal(atom('\u00e9'));
  });

  it('refuses integers beyond 32 bits and non-integers rather than send garbage', () => {
    expect(() => encodeTerm(2 ** 31)).to.throw(RangeError);
    expect(() => encodeTerm(1.5)).to.throw(RangeError);
    expect(decode(encodeTerm(2 ** 31 - 1))).to.equal(2 ** 31 - 1);
    expect(decode(encodeTerm(-5))).to.equal(-5);
  });

  it('frames a term with its 4-byte length', () => {
    const framed = encodeFrame(new Tuple(atom('pong'), 7));
    expect(framed.readUInt32BE(0)).to.equal(framed.length - 4);
    expect(framed.subarray(4).equals(encodeTerm(new Tuple(atom('pong'), 7)))).to.equal(true);
  });

  it('writes the same bytes as erlang_js for any outgoing term (erlang_js as the oracle)', () => {
    const leaf: fc.Arbitrary<OutTerm> = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: 0, max: 300 }),
      fc.constantFrom('reply', 'route', 'xmlel', 'xmlcdata', 'none').map(atom), // ASCII: erlang_js mangles others
    );
    const { term } = fc.letrec<{ term: OutTerm }>((tie) => ({
      term: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('term'), { maxLength: 5 }),
        fc.array(tie('term'), { maxLength: 5 }).map((items) => new Tuple(...items)),
      ),
    }));
    fc.assert(
      fc.property(term, (t) => {
        expect(encodeTerm(t).equals(viaErlangJs(t))).to.equal(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('writes tuples and lists of more than 255 items with their long forms', () => {
    const many = Array.from({ length: 300 }, (_, i) => i);
    expect(encodeTerm(new Tuple(...many)).equals(viaErlangJs(new Tuple(...many)))).to.equal(true);
    expect(encodeTerm(many).equals(viaErlangJs(many))).to.equal(true);
  });

  it('reports bytes that are not a term as an EtfDecodeError', () => {
    expect(() => decode(Buffer.from([131, 255]))).to.throw(EtfDecodeError);
    expect(() => decode(Buffer.from([1, 2, 3]))).to.throw(EtfDecodeError);
    expect(() => decode(Buffer.from([131, 80, 0, 0, 0, 1]))).to.throw(EtfDecodeError);
  });
});

/** erlang_js's own encoding of an outgoing term, in its object model. */
function viaErlangJs(term: OutTerm): Buffer {
  let out: Buffer | undefined;
  Erlang.term_to_binary(toErlangJs(term), (err, data) => {
    if (err) throw err;
    out = data;
  });
  return out!;
}

function toErlangJs(term: OutTerm): unknown {
  if (term instanceof Atom) return new Erlang.OtpErlangAtom(term.name, true);
  if (term instanceof Tuple) return term.items.map((item) => toErlangJs(item as OutTerm));
  if (Buffer.isBuffer(term)) return new Erlang.OtpErlangBinary(term);
  if (typeof term === 'string') return new Erlang.OtpErlangBinary(Buffer.from(term, 'utf8'));
  if (typeof term === 'number') return term;
  return new Erlang.OtpErlangList(term.map(toErlangJs));
}
