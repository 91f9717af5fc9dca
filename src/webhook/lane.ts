// SPDX-License-Identifier: GPL-2.0-or-later
// The webhook lane: a worker thread with an event loop of its own, where the HTTP calls to bots
// run (src/webhook/call.ts) while the main loop goes on blocking on its port reads. Like the
// large-body lane (src/lane.ts) it writes its reply frames to fd 1 itself, under the shared write
// lock; they are matched by id in ejabberd. How many calls run at once is the VM's business
// (mod_rest_webhook: `concurrency`), and so are retries.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeFrame } from '../port/etf-writer.js';
import { LockedWriter } from '../port/locked-writer.js';
import { logFrame, webhookReplyFrame } from '../port/protocol.js';
import { log, setLogLevel, setLogSink } from '../log.js';
import { callWebhook } from './call.js';
import { WEBHOOK_CRASHED, type WebhookLaneData, type WebhookLaneMessage } from './lane-protocol.js';

// A thread's console goes to the process's stdout, which carries frames only (platform-notes, pitfall 1).
console.log = console.info = console.debug = console.warn = console.error;

const { lock, state } = workerData as WebhookLaneData;
const writer = new LockedWriter(lock);
let portOpen = true;

function send(bytes: Buffer): void {
  if (portOpen && !writer.write(bytes)) portOpen = false;
}

setLogSink((level, line) => send(encodeFrame(logFrame(level, line))));

// A defect here would leave calls unanswered until their VM deadline: flag it, so that the main
// loop withholds its pong and ejabberd replaces the worker.
process.on('uncaughtException', (err) => {
  Atomics.store(state, WEBHOOK_CRASHED, 1);
  log.error({ err: err.stack ?? String(err) }, 'the webhook lane failed');
  process.exit(1);
});

parentPort!.on('message', (message: WebhookLaneMessage) => {
  switch (message.type) {
    case 'call': {
      const { id, job } = message;
      void callWebhook(job).then((action) => {
        if (action.kind === 'webhook_failed') log.debug({ id, reason: action.reason, detail: action.detail }, 'webhook call failed');
        send(encodeFrame(webhookReplyFrame(id, action)));
      });
      return;
    }
    case 'log_level':
      setLogLevel(message.level);
      return;
    case 'close':
      // In-flight calls finish (each has its deadline); the thread ends when they have.
      parentPort!.close();
      return;
  }
});
