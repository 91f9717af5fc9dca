// SPDX-License-Identifier: GPL-2.0-or-later
// The large-body lane: a worker thread that handles the requests whose body is large (a big
// stanza, a long command line), so that parsing them never holds up the small ones queued
// behind them in the main loop (security issue, item 5: one client must not stall everyone).
// It runs the same pure pipeline and writes its replies to the port itself, under the shared
// write lock; replies are matched by id in ejabberd, so their order does not matter.
import { parentPort, workerData } from 'node:worker_threads';
import { startLaneThread } from './port/lane-thread.js';
import { replyFrame } from './port/protocol.js';
import { compilePolicy, handleRequestFor, type CompiledPolicy } from './rest/pipeline.js';
import { logRefusal, setLogLevel } from './log.js';
import { LANE_BUSY_SINCE, LANE_CRASHED, type LaneData, type LaneMessage } from './port/lane-protocol.js';

const { lock, state } = workerData as LaneData;
const lane = startLaneThread('large-body lane', lock, state, LANE_CRASHED);
const policies = new Map<string, CompiledPolicy>();

parentPort!.on('message', (message: LaneMessage) => {
  switch (message.type) {
    case 'request': {
      const { id, request } = message;
      // Structured cloning turns the Buffer into a plain Uint8Array: view it as a Buffer again.
      const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
      Atomics.store(state, LANE_BUSY_SINCE, Math.floor(Date.now() / 1000));
      const action = handleRequestFor({ ...request, body }, policies.get(request.host), logRefusal);
      Atomics.store(state, LANE_BUSY_SINCE, 0);
      lane.send(replyFrame(id, action));
      return;
    }
    case 'config':
      policies.set(message.host, compilePolicy(message.policy));
      return;
    case 'forget':
      policies.delete(message.host);
      return;
    case 'log_level':
      setLogLevel(message.level);
      return;
    case 'close':
      parentPort!.close();
      return;
  }
});
