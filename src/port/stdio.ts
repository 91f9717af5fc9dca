// SPDX-License-Identifier: GPL-2.0-or-later
// Blocking frame I/O on the port's pipes: requests on fd 0, replies on fd 1.
//
// Why blocking reads and writes instead of process.stdin/stdout streams: the worker has
// nothing to do between requests, and the stream machinery (a fresh buffer per read, write
// requests, callbacks) cost ~8 us of worker CPU a request, a third of the total (measured
// with the worker alone, as scripts/bench-worker.ts does; docs/benchmarks.md). Blocking also gives the
// backpressure the port needs for free: when ejabberd stops reading, the write blocks and
// no more requests are read.
//
// Erlang ports hand the worker blocking pipes. Should a descriptor ever be non-blocking,
// EAGAIN is met by a short sleep and a retry, never by a busy loop.
import { readSync, writeSync } from 'node:fs';
import { FrameReader } from './framing.js';

const STDIN = 0;
const STDOUT = 1;
const READ_BYTES = 64 * 1024;
const RETRY_SLEEP_MS = 5;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '');
}

export class PortIo {
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
  private readonly reader: FrameReader;

  constructor(reader = new FrameReader()) {
    this.reader = reader;
  }

  /**
   * Blocks until bytes arrive; returns the frames they complete (possibly none), or null once
   * ejabberd has closed the port. The frames stay valid only until the next call: they may
   * share the read buffer. Throws FrameTooLargeError.
   */
  read(): Buffer[] | null {
    for (;;) {
      let n: number;
      try {
        n = readSync(STDIN, this.buffer, 0, READ_BYTES, null);
      } catch (err) {
        if (isCode(err, 'EAGAIN')) {
          sleep(RETRY_SLEEP_MS);
          continue;
        }
        if (isCode(err, 'EOF')) return null;
        throw err;
      }
      if (n === 0) return null;
      const frames = this.reader.push(this.buffer.subarray(0, n));
      // Whatever the reader keeps for an unfinished frame must outlive this buffer.
      this.reader.detach();
      return frames;
    }
  }

  /** Writes all of bytes; false when ejabberd is gone (the pipe is closed). */
  write(bytes: Buffer): boolean {
    let written = 0;
    while (written < bytes.length) {
      try {
        written += writeSync(STDOUT, bytes, written, bytes.length - written);
      } catch (err) {
        if (isCode(err, 'EAGAIN')) {
          sleep(RETRY_SLEEP_MS);
          continue;
        }
        if (isCode(err, 'EPIPE', 'EBADF')) return false;
        throw err;
      }
    }
    return true;
  }
}
