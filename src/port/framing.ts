// SPDX-License-Identifier: GPL-2.0-or-later
// {packet, 4} framing: each frame is a 4-byte big-endian length, then that many bytes.
// Chunks are kept in a list and joined once per frame: Buffer.concat per chunk is quadratic
// for big frames (platform-notes.md, pitfall 8).

/** Larger than any request ejabberd_http accepts (20 MiB body) plus the request's other fields. */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
  constructor(readonly size: number) {
    super(`frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1; // body length of the frame being read, -1 while the header is incomplete

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Feeds bytes; returns every frame they complete, in order. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        this.expected = this.take(4).readUInt32BE(0);
        if (this.expected > this.maxFrameBytes) throw new FrameTooLargeError(this.expected);
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  /**
   * Copies the bytes kept for an unfinished frame, so that the caller may reuse the buffer it
   * pushed. Only the last chunk can still point into it: earlier ones were detached before.
   */
  detach(): void {
    const last = this.chunks.length - 1;
    if (last >= 0) this.chunks[last] = Buffer.from(this.chunks[last]!);
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.buffered + (this.expected >= 0 ? 4 : 0);
  }

  private take(n: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const out = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}

export function frame(payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload], 4 + payload.length);
}
