// SPDX-License-Identifier: GPL-2.0-or-later
// Replies reach fd 1 from two threads (the main loop and the large-body lane): a frame must go
// out whole, never interleaved with another thread's, and a pipe write is atomic only up to
// PIPE_BUF (4 KiB). One lock word in shared memory makes each frame's write exclusive.
import { PortIo } from './stdio.js';

const FREE = 0;
const HELD = 1;

export class LockedWriter {
  constructor(
    /** One Int32 of a SharedArrayBuffer, the same for every thread that writes. */
    private readonly lock: Int32Array,
    private readonly io = new PortIo(),
  ) {}

  /** Writes all of bytes, alone; false when ejabberd is gone. */
  write(bytes: Buffer): boolean {
    while (Atomics.compareExchange(this.lock, 0, FREE, HELD) !== FREE) Atomics.wait(this.lock, 0, HELD);
    try {
      return this.io.write(bytes);
    } finally {
      Atomics.store(this.lock, 0, FREE);
      Atomics.notify(this.lock, 0, 1);
    }
  }
}
