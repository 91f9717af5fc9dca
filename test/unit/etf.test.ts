import { expect } from 'chai';
import { atom, Atom, decode, encode, EtfDecodeError, Tuple } from '../../src/port/etf.js';

describe('etf: the typed adapter over erlang_js', () => {
  it('interns atoms, so they compare with ===', () => {
    expect(atom('route')).to.equal(Atom.of('route'));
  });

  it('round-trips tuples, lists, binaries, atoms and small integers', () => {
    const term = new Tuple(atom('reply'), 42, [Buffer.from('a'), Buffer.from('b')], atom('none'));
    const back = decode(encode(term)) as Tuple;
    expect(back).to.be.instanceOf(Tuple);
    expect(back.items[0]).to.equal(atom('reply'));
    expect(back.items[1]).to.equal(42);
    expect(back.items[2]).to.deep.equal([Buffer.from('a'), Buffer.from('b')]);
    expect(back.items[3]).to.equal(atom('none'));
  });

  it('sends JS strings as UTF-8 binaries, not charlists', () => {
    expect(decode(encode('h\u00e9'))).to.deep.equal(Buffer.from('h\u00e9', 'utf8'));
  });

  it('gives back true, false and undefined as atoms', () => {
    expect(decode(encode(atom('true')))).to.equal(atom('true'));
    expect(decode(encode(atom('false')))).to.equal(atom('false'));
    expect(decode(encode(atom('undefined')))).to.equal(atom('undefined'));
  });

  it('refuses integers erlang_js would encode wrongly (beyond 32 bits) and non-integers', () => {
    expect(() => encode(2 ** 31)).to.throw(RangeError);
    expect(() => encode(1.5)).to.throw(RangeError);
    expect(decode(encode(2 ** 31 - 1))).to.equal(2 ** 31 - 1);
    expect(decode(encode(-5))).to.equal(-5);
  });

  it('reports bytes that are not a term as an EtfDecodeError', () => {
    expect(() => decode(Buffer.from([131, 255]))).to.throw(EtfDecodeError);
    expect(() => decode(Buffer.from([1, 2, 3]))).to.throw(EtfDecodeError);
    expect(() => decode(Buffer.from([131, 80, 0, 0, 0, 1]))).to.throw(EtfDecodeError);
  });
});
