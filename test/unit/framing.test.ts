// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { FrameReader, FrameTooLargeError, frame } from '../../src/port/framing.js';

const payloads = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world'), Buffer.alloc(70_000, 7)];
const stream = Buffer.concat(payloads.map(frame));

describe('framing: {packet, 4}', () => {
  it('prefixes a payload with its 4-byte big-endian length', () => {
    expect([...frame(Buffer.from('abc'))]).to.deep.equal([0, 0, 0, 3, 0x61, 0x62, 0x63]);
  });

  it('reads frames that arrive coalesced in one chunk', () => {
    expect(new FrameReader().push(stream)).to.deep.equal(payloads);
  });

  it('reads frames that arrive one byte at a time', () => {
    const reader = new FrameReader();
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...reader.push(Buffer.from([byte])));
    expect(out).to.deep.equal(payloads);
    expect(reader.pendingBytes).to.equal(0);
  });

  it('reads frames split at random points, whatever the split', () => {
    for (let round = 0; round < 200; round++) {
      const reader = new FrameReader();
      const out: Buffer[] = [];
      let at = 0;
      while (at < stream.length) {
        const size = 1 + Math.floor(Math.random() * 9000);
        out.push(...reader.push(stream.subarray(at, at + size)));
        at += size;
      }
      expect(out).to.deep.equal(payloads);
    }
  });

  it('keeps an incomplete frame until the rest arrives', () => {
    const reader = new FrameReader();
    expect(reader.push(stream.subarray(0, 3))).to.deep.equal([]);
    expect(reader.pendingBytes).to.equal(3);
    expect(reader.push(stream.subarray(3, 5))).to.deep.equal([payloads[0]]);
  });

  it('refuses a frame larger than its limit as soon as the header says so', () => {
    const reader = new FrameReader(1024);
    expect(() => reader.push(Buffer.from([0, 0, 4, 1]))).to.throw(FrameTooLargeError);
  });
});

describe('FrameReader.detach: reading into one reused buffer', () => {
  it('keeps an unfinished frame intact when the caller overwrites its buffer', () => {
    const reader = new FrameReader();
    const whole = frame(Buffer.from('hello, world'));
    const shared = Buffer.alloc(8);
    whole.copy(shared, 0, 0, 8);
    expect(reader.push(shared.subarray(0, 8))).to.deep.equal([]);
    reader.detach();
    shared.fill(0x7e); // the next read lands in the same buffer
    whole.copy(shared, 0, 8);
    const frames = reader.push(shared.subarray(0, whole.length - 8));
    expect(frames.map((f) => f.toString())).to.deep.equal(['hello, world']);
  });
});
