// SPDX-License-Identifier: GPL-2.0-or-later
// The worker's entry point: wires stdin/stdout frames to the request pipeline. Nothing else.
// Started by erl/mod_rest_port.erl with {packet, 4}; lives exactly as long as its port.
import { decode, type OutTerm, type Term } from './port/etf.js';
import { encodeFrame } from './port/etf-writer.js';
import { LargeBodyLane } from './port/lane-handle.js';
import { LARGE_BODY_BYTES } from './port/lane-protocol.js';
import { LockedWriter } from './port/locked-writer.js';
import { PortIo } from './port/stdio.js';
import { helloFrame, logFrame, parseInbound, pongFrame, ProtocolError, replyFrame, type Inbound } from './port/protocol.js';
import { compilePolicy, handleRequestFor, type CompiledPolicy } from './rest/pipeline.js';
import { log, logRefusal, setLogLevel, setLogSink } from './log.js';
import { renderJob } from './rest/render.js';
import { WebhookLane } from './webhook/handle.js';

// Any stray byte on stdout would corrupt the frame stream for good (platform-notes, pitfall 1).
// process.stdout and process.stdin are never touched: PortIo reads and writes fds 0 and 1.
console.log = console.info = console.debug = console.warn = console.error;

const policies = new Map<string, CompiledPolicy>();
const io = new PortIo();
// fd 1 is shared with the large-body lane's thread: every write takes the lock.
const writeLock = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
const writer = new LockedWriter(writeLock, io);
const lane = new LargeBodyLane(writeLock);
// HTTP calls to bots: a thread with an event loop, since this one blocks on fd 0.
const webhooks = new WebhookLane(writeLock);
let portOpen = true;

// Replies produced while handling one read, written at its end in one write.
let batch: Buffer[] | null = null;

function send(term: OutTerm): void {
  if (!portOpen) return;
  const bytes = encodeFrame(term);
  if (batch) batch.push(bytes);
  else write(bytes);
}

function write(bytes: Buffer): void {
  if (!writer.write(bytes)) portOpen = false; // EPIPE: ejabberd went away
}

function dispatch(message: Inbound): void {
  switch (message.type) {
    case 'request': {
      if (message.request.body.length >= LARGE_BODY_BYTES) {
        if (lane.crashed) throw new LaneFailure();
        lane.request(message.id, message.request);
        return;
      }
      const action = handleRequestFor(message.request, policies.get(message.request.host), logRefusal);
      if (log.isLevelEnabled('debug')) {
        const inner = action.kind === 'with_headers' ? action.action : action;
        const detail = inner.kind === 'command' ? inner.name : inner.kind === 'answer' || inner.kind === 'document' ? inner.status : inner.kind === 'with_headers' ? 'cors' : inner.kind === 'send_batch' ? inner.items.length : inner.stanza.name;
        log.debug({ id: message.id, ip: message.request.ip, host: message.request.host, action: action.kind, detail }, 'request');
      }
      send(replyFrame(message.id, action));
      return;
    }
    case 'render':
      send(replyFrame(message.id, renderJob(message.job, policies.get(message.job.host))));
      return;
    case 'webhook':
      if (webhooks.crashed) throw new LaneFailure();
      webhooks.call(message.id, message.job);
      return;
    case 'config': {
      const policy = compilePolicy(message.policy);
      for (const entry of policy.invalidEntries) log.warn({ host: message.host, entry }, 'option entry ignored: it does not parse');
      policies.set(message.host, policy);
      lane.config(message.host, message.policy);
      log.debug({ host: message.host }, 'policy updated');
      return;
    }
    case 'forget':
      policies.delete(message.host);
      lane.forget(message.host);
      return;
    case 'log_level':
      setLogLevel(message.level);
      lane.logLevel(message.level);
      webhooks.logLevel(message.level);
      return;
    case 'ping':
      // No pong while the lane is stuck on one request: ejabberd then replaces this worker.
      if (lane.stuck) log.error({}, 'the large-body lane is stuck; not answering the probe');
      else if (webhooks.crashed) log.error({}, 'the webhook lane has failed; not answering the probe');
      else send(pongFrame(message.n));
      return;
  }
}


function onFrame(payload: Buffer): void {
  const term = decode(payload);
  // A list is a batch: several frames the stub wrote at once, each handled as if alone.
  if (Array.isArray(term)) for (const item of term) onTerm(item);
  else onTerm(term);
}

function onTerm(term: Term): void {
  try {
    dispatch(parseInbound(term));
  } catch (err) {
    if (err instanceof ProtocolError && err.id !== undefined) {
      log.error({ id: err.id, err: err.message }, 'malformed request frame');
      send(replyFrame(err.id, { kind: 'answer', status: 500, body: 'Error: internal error in the REST worker.' }));
      return;
    }
    throw err;
  }
}

/** The lane thread died: its requests will never be answered. Ending the worker makes ejabberd answer them. */
class LaneFailure extends Error {}

function shutdown(code: number): void {
  lane.close();
  webhooks.close();
  portOpen = false;
  setLogSink(null);
  process.exitCode = code;
}

// Serves frames until ejabberd closes the port. Everything is synchronous: nothing is pending
// when the loop ends, and the process exits with it.
function serve(): void {
  while (portOpen) {
    batch = [];
    try {
      const frames = io.read();
      if (frames === null) return shutdown(0);
      for (const payload of frames) onFrame(payload);
    } catch (err) {
      if (err instanceof LaneFailure) {
        log.error({}, 'the large-body lane has failed, exiting');
      } else {
        // A frame we cannot read leaves the stream out of step: exit and let the stub restart us.
        log.error({ err: (err as Error).message }, 'unreadable frame from ejabberd, exiting');
      }
      shutdown(1);
    } finally {
      const out = batch;
      batch = null;
      if (out.length === 1) write(out[0]!);
      else if (out.length > 1) write(Buffer.concat(out));
    }
  }
}

setLogSink((level, line) => send(logFrame(level, line)));
send(helloFrame());
log.info({ pid: process.pid, node: process.version }, 'worker started');
serve();
