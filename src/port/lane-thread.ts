// SPDX-License-Identifier: GPL-2.0-or-later
// What every lane thread (the large-body lane, the webhook lane) sets up first: its console kept
// off stdout, its own frame writer on fd 1 under the shared write lock, its logs sent as frames,
// and a crash flagged in shared memory so that the main loop withholds its pong and ejabberd
// replaces the worker (nothing must stay unanswered because a thread died).
import { encodeFrame } from './etf-writer.js';
import { LockedWriter } from './locked-writer.js';
import { logFrame, type LogLevel } from './protocol.js';
import { log, setLogSink } from '../log.js';
import type { OutTerm } from './etf.js';

export interface LaneThread {
  /** Writes one frame to the port, unless ejabberd went away. */
  send(term: OutTerm): void;
}

export function startLaneThread(name: string, lock: Int32Array, state: Int32Array, crashedIndex: number): LaneThread {
  // A thread's console goes to the process's stdout, which carries frames only (platform-notes, pitfall 1).
  console.log = console.info = console.debug = console.warn = console.error;
  const writer = new LockedWriter(lock);
  let portOpen = true;
  const sendBytes = (bytes: Buffer): void => {
    if (portOpen && !writer.write(bytes)) portOpen = false;
  };
  setLogSink((level: LogLevel, line: string) => sendBytes(encodeFrame(logFrame(level, line))));
  process.on('uncaughtException', (err) => {
    Atomics.store(state, crashedIndex, 1);
    log.error({ err: err.stack ?? String(err) }, `the ${name} failed`);
    process.exit(1);
  });
  return { send: (term) => sendBytes(encodeFrame(term)) };
}
