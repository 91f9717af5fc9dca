// SPDX-License-Identifier: GPL-2.0-or-later
// What the main loop and the webhook lane (src/webhook/lane.ts) share.
import type { LogLevel } from '../port/protocol.js';
import type { WebhookJob } from './call.js';

export type WebhookLaneMessage =
  | { type: 'call'; id: number; job: WebhookJob }
  | { type: 'log_level'; level: LogLevel }
  | { type: 'close' };

/** Index into WebhookLaneData.state: 1 once the thread has failed. */
export const WEBHOOK_CRASHED = 0;

export interface WebhookLaneData {
  /** The write lock of LockedWriter. */
  lock: Int32Array;
  state: Int32Array;
}
