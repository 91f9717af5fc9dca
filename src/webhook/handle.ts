// SPDX-License-Identifier: GPL-2.0-or-later
// The main loop's side of the webhook lane: started at the first webhook call, watched through
// shared memory (the main loop blocks on its port reads and never sees the thread's events).
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LogLevel } from '../port/protocol.js';
import type { WebhookJob } from './call.js';
import { WEBHOOK_CRASHED, type WebhookLaneData, type WebhookLaneMessage } from './lane-protocol.js';

export class WebhookLane {
  private worker: Worker | null = null;
  private readonly state = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  private level: LogLevel | null = null;

  constructor(
    private readonly lock: Int32Array,
    private readonly script = path.join(__dirname, 'lane.js'),
  ) {}

  /** The thread failed: the calls posted to it will not be answered. */
  get crashed(): boolean {
    return Atomics.load(this.state, WEBHOOK_CRASHED) === 1;
  }

  call(id: number, job: WebhookJob): void {
    (this.worker ?? this.start()).postMessage({ type: 'call', id, job } satisfies WebhookLaneMessage);
  }

  logLevel(level: LogLevel): void {
    this.level = level;
    this.worker?.postMessage({ type: 'log_level', level } satisfies WebhookLaneMessage);
  }

  /** Lets the calls in flight finish (each within its deadline), then ends the thread. */
  close(): void {
    this.worker?.postMessage({ type: 'close' } satisfies WebhookLaneMessage);
  }

  private start(): Worker {
    const data: WebhookLaneData = { lock: this.lock, state: this.state };
    // stdout/stderr: true, as for the large-body lane (src/port/lane-handle.ts): fd 1 stays blocking.
    const worker = new Worker(this.script, { workerData: data, stdout: true, stderr: true });
    this.worker = worker;
    if (this.level !== null) worker.postMessage({ type: 'log_level', level: this.level } satisfies WebhookLaneMessage);
    return worker;
  }
}
