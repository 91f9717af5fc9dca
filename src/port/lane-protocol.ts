// SPDX-License-Identifier: GPL-2.0-or-later
// What the main loop and the large-body lane (src/lane.ts) share: the messages the main loop
// posts, and the shared memory both see.
import type { HostPolicy, RestRequest } from '../rest/types.js';
import type { LogLevel } from './protocol.js';

/** Bodies of this size or more are handled by the lane. Stanzas of everyday traffic are far smaller. */
export const LARGE_BODY_BYTES = 64 * 1024;

/** A lane that has worked on one request this long is stuck: the worker stops answering pings. */
export const LANE_STUCK_SECONDS = 30;

export type LaneMessage =
  | { type: 'request'; id: number; request: RestRequest }
  | { type: 'config'; host: string; policy: HostPolicy }
  | { type: 'forget'; host: string }
  | { type: 'log_level'; level: LogLevel }
  | { type: 'close' };

/** Indexes into LaneData.state. */
export const LANE_CRASHED = 0;
/** Unix seconds when the lane started its current request; 0 when idle. */
export const LANE_BUSY_SINCE = 1;

export interface LaneData {
  /** The write lock of LockedWriter. */
  lock: Int32Array;
  state: Int32Array;
}
