// SPDX-License-Identifier: GPL-2.0-or-later
// Webhook round trips: 16 XMPP clients each send a message to a bot (a subdomain served by an
// HTTP echo service on loopback, option `webhooks`) and wait for its reply, in a closed loop;
// then one client alone measures the latency of that round trip against an iq ping to the server
// (the XMPP round trip with no webhook): the difference is what a webhook reply adds.
// Part of `make bench`; alone: `npx tsx scripts/bench-webhooks.ts`.
import { client, xml, type Client, type Element } from '@xmpp/client';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { median, percentile } from './bench/stats';
import { freePort, Sandbox } from './sandbox';

const SENDERS = Number(process.env.BENCH_WEBHOOK_SENDERS ?? 16);
const SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 10);
const LATENCY_SAMPLES = Number(process.env.BENCH_WEBHOOK_SAMPLES ?? 300);

/** The service: echoes a message's body back as XML, the cheapest a bot can be. */
function echoService(): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = /<body>([^<]*)<\/body>/.exec(Buffer.concat(chunks).toString())?.[1] ?? '';
      res.writeHead(200, { 'Content-Type': 'application/xmpp+xml' }).end(`<message><body>${text}</body></message>`);
    });
  });
}

/** A logged-in client whose incoming stanzas resolve the waiter registered for their body or id. */
async function login(port: number, user: string): Promise<{ xmpp: Client; waiting: Map<string, () => void> }> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${port}`, domain: 'localhost', username: user, password: 'pw', resource: 'bench' });
  const waiting = new Map<string, () => void>();
  xmpp.on('error', () => undefined);
  xmpp.on('stanza', (s: Element) => {
    const key = s.is('message') ? s.getChildText('body') : s.attrs.id;
    const done = key ? waiting.get(key) : undefined;
    if (done) {
      waiting.delete(key!);
      done();
    }
  });
  await xmpp.start();
  return { xmpp, waiting };
}

function roundTrip(c: { xmpp: Client; waiting: Map<string, () => void> }, key: string, stanza: Element): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${key} in 10 s`)), 10_000);
    c.waiting.set(key, () => {
      clearTimeout(timer);
      resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
    c.xmpp.send(stanza).catch(reject);
  });
}

const message = (key: string): Element => xml('message', { to: 'echo@bot.localhost', type: 'chat' }, xml('body', {}, key));
const ping = (key: string): Element => xml('iq', { to: 'localhost', id: key, type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' }));

export async function benchWebhooks(base: string): Promise<void> {
  const service = echoService();
  const servicePort = await freePort();
  await new Promise<void>((r) => service.listen(servicePort, '127.0.0.1', () => r()));
  const users = Array.from({ length: SENDERS }, (_, i) => `sender${i}`);
  const sandbox = new Sandbox({
    dir: path.join(base, 'webhooks'),
    c2sPort: await freePort(),
    httpPort: await freePort(),
    users: users.map((u) => [u, 'pw'] as [string, string]),
    // No mod_mam (the sandbox's default): archiving both messages in Mnesia would be most of what is measured.
    config: { loglevel: 'warning', modules: { mod_ping: {} } },
    modRest: { webhooks: [{ url: `http://127.0.0.1:${servicePort}/`, domain: 'bot.localhost', concurrency: SENDERS, queue_size: 1000 }] },
  });
  await sandbox.start();
  const clients: Array<Awaited<ReturnType<typeof login>>> = [];
  try {
    for (const u of users) clients.push(await login(sandbox.options.c2sPort, u));
    // Warm-up: connections, keep-alive sockets, JIT.
    for (let i = 0; i < 200; i++) await roundTrip(clients[0]!, `warm-${i}`, message(`warm-${i}`));

    let count = 0;
    const latencies: number[] = [];
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(
      clients.map(async (c, n) => {
        for (let i = 0; Date.now() < until; i++) {
          const key = `s${n}-${i}`;
          latencies.push(await roundTrip(c, key, message(key)));
          count++;
        }
      }),
    );
    console.log(`webhooks: ${SENDERS} senders, ${SECONDS} s: ${Math.round(count / SECONDS)} round trips/s ` +
      `(message -> webhook -> reply), p50 ${median(latencies).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`);

    // One sender alone, alternating a webhook round trip with an iq ping to the server.
    const viaWebhook: number[] = [];
    const viaServer: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      viaWebhook.push(await roundTrip(clients[0]!, `lat-${i}`, message(`lat-${i}`)));
      viaServer.push(await roundTrip(clients[0]!, `ping-${i}`, ping(`ping-${i}`)));
    }
    const added = median(viaWebhook) - median(viaServer);
    console.log(`webhooks: one sender, ${LATENCY_SAMPLES} alternated samples: webhook reply p50 ${median(viaWebhook).toFixed(2)} ms ` +
      `(p99 ${percentile(viaWebhook, 0.99).toFixed(2)}), iq ping to the server p50 ${median(viaServer).toFixed(2)} ms: a webhook reply adds ${added.toFixed(2)} ms\n`);
  } finally {
    for (const c of clients) await c.xmpp.stop().catch(() => undefined);
    await sandbox.stop();
    service.close();
  }
}

if (require.main === module) {
  const base = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-bench-webhooks-'));
  benchWebhooks(base)
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => rmSync(base, { recursive: true, force: true }));
}
