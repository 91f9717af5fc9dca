// SPDX-License-Identifier: GPL-2.0-or-later
// The main loop's side of the large-body lane (src/lane.ts): started at the first large
// request, fed the same configuration as the main loop, watched through shared memory, since
// the main loop blocks on its port reads and never sees the thread's events.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostPolicy, RestRequest } from '../rest/types.js';
import { LANE_BUSY_SINCE, LANE_CRASHED, LANE_STUCK_SECONDS, type LaneData, type LaneMessage } from './lane-protocol.js';
import type { LogLevel } from './protocol.js';

export class LargeBodyLane {
  private worker: Worker | null = null;
  private readonly state = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  private readonly policies = new Map<string, HostPolicy>();
  private level: LogLevel | null = null;

  constructor(
    private readonly lock: Int32Array,
    private readonly script = path.join(__dirname, '..', 'lane.js'),
  ) {}

  /** The thread failed: what was posted to it will not be answered. */
  get crashed(): boolean {
    return Atomics.load(this.state, LANE_CRASHED) === 1;
  }

  /** One request has kept the thread busy for LANE_STUCK_SECONDS. */
  get stuck(): boolean {
    const since = Atomics.load(this.state, LANE_BUSY_SINCE);
    return since > 0 && Date.now() / 1000 - since > LANE_STUCK_SECONDS;
  }

  request(id: number, request: RestRequest): void {
    this.post({ type: 'request', id, request }, true);
  }

  config(host: string, policy: HostPolicy): void {
    this.policies.set(host, policy);
    this.post({ type: 'config', host, policy });
  }

  forget(host: string): void {
    this.policies.delete(host);
    this.post({ type: 'forget', host });
  }

  logLevel(level: LogLevel): void {
    this.level = level;
    this.post({ type: 'log_level', level });
  }

  /** Lets the thread finish what it was given, then end. */
  close(): void {
    this.worker?.postMessage({ type: 'close' } satisfies LaneMessage);
  }

  private post(message: LaneMessage, start = false): void {
    if (this.worker === null && !start) return; // replayed from the maps when it starts
    (this.worker ?? this.start()).postMessage(message);
  }

  private start(): Worker {
    const data: LaneData = { lock: this.lock, state: this.state };
    // stdout/stderr: true keeps the thread's own streams to itself. By default Node pipes them
    // into this thread's process.stdout, and opening that makes fd 1 non-blocking: every large
    // reply then crawls out in pipe-sized pieces with a sleep between (10 MiB: 250 ms, measured).
    const worker = new Worker(this.script, { workerData: data, stdout: true, stderr: true });
    this.worker = worker;
    if (this.level !== null) worker.postMessage({ type: 'log_level', level: this.level } satisfies LaneMessage);
    for (const [host, policy] of this.policies) worker.postMessage({ type: 'config', host, policy } satisfies LaneMessage);
    return worker;
  }
}
