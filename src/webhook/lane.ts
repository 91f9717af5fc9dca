// SPDX-License-Identifier: GPL-2.0-or-later
// The webhook lane: a worker thread with an event loop of its own, where the HTTP calls to bots
// run (src/webhook/call.ts) while the main loop goes on blocking on its port reads. Like the
// large-body lane (src/lane.ts) it writes its reply frames to fd 1 itself, under the shared write
// lock; they are matched by id in ejabberd. How many calls run at once is the VM's business
// (mod_rest_webhook: `concurrency`), and so are retries.
import { parentPort, workerData } from 'node:worker_threads';
import { startLaneThread } from '../port/lane-thread.js';
import { webhookReplyFrame } from '../port/protocol.js';
import { log, setLogLevel } from '../log.js';
import { callWebhook } from './call.js';
import { WEBHOOK_CRASHED, type WebhookLaneData, type WebhookLaneMessage } from './lane-protocol.js';

const { lock, state } = workerData as WebhookLaneData;
const lane = startLaneThread('webhook lane', lock, state, WEBHOOK_CRASHED);

parentPort!.on('message', (message: WebhookLaneMessage) => {
  switch (message.type) {
    case 'call': {
      const { id, job } = message;
      void callWebhook(job).then((action) => {
        if (action.kind === 'webhook_failed') log.debug({ id, reason: action.reason, detail: action.detail }, 'webhook call failed');
        lane.send(webhookReplyFrame(id, action));
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
