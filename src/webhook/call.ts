// SPDX-License-Identifier: GPL-2.0-or-later
// One webhook call: the stanza POSTed to a bot's URL, its answer read back (mod_rest_webhook in
// the VM decides what the sender gets). Pure helpers first (URL, body, signature, answer), then
// the HTTP exchange itself, with node:http/https: no redirects followed, one deadline for the
// whole exchange, the answer's size bounded.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { WEBHOOK_FAILURES, type WebhookFailure } from '../rest/errors.js';
import { jsonFromStanza, parseJsonBody, stanzaFromJson } from '../rest/jsonmap.js';
import { bodyKind, JSON_TYPE, mediaType, XMPP_XML } from '../rest/negotiate.js';
import { MAX_XML_DEPTH, parseStanza } from '../rest/stanza.js';
import type { XmlElement } from '../rest/types.js';
import { attr, writeXml } from '../rest/xml-writer.js';

/** What the stub asks for: `{webhook, Id, #{url, format, timeout, stanza, secret, ca_file}}`. */
export interface WebhookJob {
  url: string;
  format: 'xml' | 'json';
  /** The deadline of the whole exchange, in ms. */
  timeout: number;
  stanza: XmlElement;
  /** The Webhook-Id header: one per call, the same in each of its attempts (retries). */
  deliveryId: string;
  /** HMAC-SHA256 key of the signature headers; none: unsigned. Never logged. */
  secret?: string;
  /** A PEM file of CAs trusted for https besides the system's. */
  caFile?: string;
}

export type WebhookAction =
  | { kind: 'webhook_done'; status: number; reply: XmlElement | null }
  | { kind: 'webhook_failed'; reason: WebhookFailure; detail: string };

/**
 * The first signature header, kept for the services that check it: `sha256=` and the hex
 * HMAC-SHA256 of the body alone, keyed with the secret. It does not stop a replay.
 */
export const SIGNATURE_HEADER = 'X-Mod-Rest-Signature';
/**
 * Standard Webhooks (standardwebhooks.com, the scheme of Svix and others; Stripe's and
 * GitHub's are alike): the call's id and the attempt's time (Unix seconds) are signed with the
 * body, so that a receiver can refuse a replayed call (old timestamp) and drop a repeated one
 * (same id).
 */
export const ID_HEADER = 'Webhook-Id';
export const TIMESTAMP_HEADER = 'Webhook-Timestamp';
export const STANDARD_SIGNATURE_HEADER = 'Webhook-Signature';
/** Standard Webhooks' secrets: `whsec_` and the key in base64; any other secret is its UTF-8 bytes. */
const STANDARD_SECRET_PREFIX = 'whsec_';
/** A reply stanza is small; a bigger answer is a broken or hostile service. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
const ACCEPT = `${XMPP_XML}, ${JSON_TYPE}`;

/** {kind} {type} {to} {from} of the URL filled in from the stanza, each URL-encoded (as Prosody). */
export function webhookUrl(template: string, stanza: XmlElement): string {
  const values: Record<string, string> = {
    kind: stanza.name,
    type: attr(stanza, 'type') ?? '',
    to: attr(stanza, 'to') ?? '',
    from: attr(stanza, 'from') ?? '',
  };
  return template.replace(/\{(kind|type|to|from)\}/g, (_, key: string) => encodeURIComponent(values[key]!));
}

/** The request body and its media type: the stanza's XML, or its JSON (Prosody's mapping). */
export function webhookBody(stanza: XmlElement, format: 'xml' | 'json'): { body: Buffer; contentType: string } {
  if (format === 'json') return { body: Buffer.from(JSON.stringify(jsonFromStanza(stanza) ?? {}), 'utf8'), contentType: JSON_TYPE };
  return { body: Buffer.from(writeXml(stanza), 'utf8'), contentType: XMPP_XML };
}

export function signature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Webhook-Signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. */
export function standardSignature(secret: string, id: string, timestamp: number, body: Buffer): string {
  const key = secret.startsWith(STANDARD_SECRET_PREFIX) ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

/** The headers that identify and sign one attempt of a call, made at the time of the attempt. */
export function deliveryHeaders(job: WebhookJob, body: Buffer, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  const headers: Record<string, string> = { [ID_HEADER]: job.deliveryId, [TIMESTAMP_HEADER]: String(timestamp) };
  if (job.secret !== undefined) {
    headers[STANDARD_SIGNATURE_HEADER] = standardSignature(job.secret, job.deliveryId, timestamp, body);
    headers[SIGNATURE_HEADER] = signature(job.secret, body);
  }
  return headers;
}

/** The answer read as an action: a 2xx body is the reply stanza, in XML or JSON by its media type. */
export function readAnswer(status: number, contentType: string | undefined, body: Buffer): WebhookAction {
  if (status < 200 || status > 299 || status === 202 || status === 204 || body.length === 0) {
    return { kind: 'webhook_done', status, reply: null };
  }
  const type = mediaType(contentType ?? '');
  const kind = bodyKind(type);
  try {
    if (kind === 'json') return { kind: 'webhook_done', status, reply: stanzaFromJson(parseJsonBody(body)) };
    if (kind === 'xml') return { kind: 'webhook_done', status, reply: parseStanza(body, MAX_XML_DEPTH) };
  } catch (err) {
    return failed('bad_answer', `${type}: ${(err as Error).message.slice(0, 200)}`);
  }
  return failed('bad_answer', `unsupported media type '${type.slice(0, 100)}'`);
}

function failed(reason: WebhookFailure, detail: string): WebhookAction {
  return { kind: 'webhook_failed', reason, detail: `${WEBHOOK_FAILURES[reason]}: ${detail}` };
}

// Keep-alive: a bot takes many stanzas, a new connection for each would double the cost.
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
const trusted = new Map<string, string[]>();

function caList(file: string): string[] {
  let ca = trusted.get(file);
  if (!ca) trusted.set(file, (ca = [...rootCertificates, readFileSync(file, 'utf8')]));
  return ca;
}

/** Performs the call; never rejects. */
export function callWebhook(job: WebhookJob): Promise<WebhookAction> {
  return new Promise<WebhookAction>((resolve) => {
    let url: URL;
    let options: https.RequestOptions;
    const { body, contentType } = webhookBody(job.stanza, job.format);
    try {
      url = new URL(webhookUrl(job.url, job.stanza));
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`scheme ${url.protocol}`);
      const headers: Record<string, string> = {
        'Content-Type': contentType,
        'Content-Length': String(body.length),
        Accept: ACCEPT,
        'User-Agent': 'mod_rest (ejabberd)',
        ...deliveryHeaders(job, body),
      };
      const lang = attr(job.stanza, 'xml:lang');
      if (lang) headers['Content-Language'] = lang;
      options = { method: 'POST', headers, agent: agents[url.protocol] };
      if (job.caFile !== undefined && url.protocol === 'https:') options = { ...options, ca: caList(job.caFile), agent: false };
    } catch (err) {
      resolve(failed('unreachable', `bad URL or CA file (${(err as Error).message.slice(0, 200)})`));
      return;
    }
    let done = false;
    const finish = (action: WebhookAction): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(action);
    };
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          finish(failed('too_large', `more than ${MAX_ANSWER_BYTES} bytes`));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(readAnswer(res.statusCode ?? 0, res.headers['content-type'], Buffer.concat(chunks))));
      res.on('error', (err) => finish(failed('bad_answer', err.message)));
    });
    const timer = setTimeout(() => {
      finish(failed('timeout', `${job.timeout} ms`));
      req.destroy();
    }, job.timeout);
    req.on('error', (err: NodeJS.ErrnoException) => finish(failed('unreachable', err.code ?? err.message)));
    req.end(body);
  });
}
