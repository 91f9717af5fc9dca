// SPDX-License-Identifier: GPL-2.0-or-later
// For operators: GET /rest/metrics (Prometheus text, parsed here; the counters move as requests go
// by), GET /rest/health (200 only while the worker answers: 503 when it is frozen or its owner is
// stopped, 200 again once it is back), each open to its own addresses, and the mod_rest_stats
// command, which shows the same figures.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, sleep, startSandbox, stopSandbox, suiteFailed, type Reply } from './support';

/** One Prometheus text exposition: samples by `name{labels}` exactly as written, and the families' types. */
export interface Scrape {
  samples: Map<string, number>;
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|NaN))$/;

/** Parses the text format (0.0.4) strictly: every line a comment, a HELP/TYPE of a family, or a sample of a typed family. */
export function parsePrometheus(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped'], line).to.include(meta[3]);
        types.set(meta[2]!, meta[3]!);
      } else helps.add(meta[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const family = types.has(m[1]!) ? m[1]! : m[1]!.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(family), `${m[1]} has a TYPE line before it`).to.equal(true);
    expect(helps.has(family), `${family} has a HELP line`).to.equal(true);
    const key = `${m[1]}${m[2] ?? ''}`;
    expect(samples.has(key), `${key} appears once`).to.equal(false);
    samples.set(key, Number(m[3]));
  }
  return { samples, types };
}

async function scrape(sb: Sandbox): Promise<Scrape> {
  const reply = await post(sb, null, { method: 'GET', path: '/rest/metrics' });
  expect(reply.status, reply.body).to.equal(200);
  expect(reply.contentType).to.equal('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(reply.body);
}

/** A sample's value; an absent series is 0, as Prometheus reads it. */
const value = (s: Scrape, key: string): number => s.samples.get(key) ?? 0;
const health = (sb: Sandbox): Promise<Reply> => post(sb, null, { method: 'GET', path: '/rest/health' });

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await check()) return true;
  return check();
}

const MSG = '<message from="localhost/rest" to="nolan@localhost"><body>counted</body></message>';

describe('GET /rest/metrics and /rest/health', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox('ops', {
      distribution: true,
      httpIp: '::',
      requestHandlers: { '/admin': 'ejabberd_web_admin' },
      users: [['admin', 'admin-pw'], ['nolan', 'pw']],
      // Metrics for 127.0.0.1 only, to see ::1 refused; health at the defaults (loopback).
      modRest: { metrics_allowed_ips: ['127.0.0.1/32'], max_body_size: 1000, request_timeout: '2 seconds' },
    });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('serves Prometheus text whose counters move as requests go by', async () => {
    const before = await scrape(sb);
    expect(before.types.get('mod_rest_requests_total')).to.equal('counter');
    expect(before.types.get('mod_rest_request_duration_seconds')).to.equal('histogram');
    expect(before.types.get('mod_rest_requests_in_flight')).to.equal('gauge');
    expect(value(before, 'mod_rest_worker_up')).to.equal(1);
    expect(value(before, 'mod_rest_worker_events_total{event="started"}')).to.be.at.least(1);

    for (let i = 0; i < 3; i++) expect((await post(sb, MSG)).status).to.equal(200);
    expect((await post(sb, 'x'.repeat(2000))).status).to.equal(413);
    expect((await post(sb, null, { method: 'GET', path: '/rest/anything' })).status).to.equal(200);
    const after = await scrape(sb);
    const delta = (key: string) => value(after, key) - value(before, key);

    expect(delta('mod_rest_requests_total{route="/",class="2xx"}')).to.equal(3);
    expect(delta('mod_rest_requests_total{route="/",class="4xx"}')).to.equal(1);
    expect(delta('mod_rest_requests_total{route="/{path}",class="2xx"}')).to.equal(1);
    // The scrape before is itself counted, once its answer is written.
    expect(delta('mod_rest_requests_total{route="/metrics",class="2xx"}')).to.equal(1);
    expect(delta('mod_rest_request_bytes_total{route="/"}')).to.equal(3 * Buffer.byteLength(MSG) + 2000);
    expect(delta('mod_rest_response_bytes_total{route="/"}')).to.be.greaterThan(3 * 'Ok'.length);
    expect(delta('mod_rest_request_duration_seconds_count{route="/"}')).to.equal(4);
    expect(delta('mod_rest_request_duration_seconds_bucket{route="/",le="+Inf"}')).to.equal(4);
    expect(value(after, 'mod_rest_request_duration_seconds_bucket{route="/",le="0.001"}'))
      .to.be.at.most(value(after, 'mod_rest_request_duration_seconds_bucket{route="/",le="0.1"}'));
    expect(delta('mod_rest_request_duration_seconds_sum{route="/"}')).to.be.greaterThan(0);
    expect(delta('mod_rest_actions_total{action="route"}')).to.equal(3);
    expect(delta('mod_rest_refused_total{reason="too_large"}')).to.equal(1);
    // Only the scrape itself is in flight while it is written.
    expect(value(after, 'mod_rest_requests_in_flight')).to.equal(1);
  });

  it('counts actions by what came of them: a command refused in the VM is not counted as carried out', async () => {
    const before = await scrape(sb);
    const ran = await post(sb, '--auth admin localhost admin-pw registered_users localhost');
    expect(ran.status, ran.body).to.equal(200);
    const refused = await post(sb, '--auth admin localhost wrong-pw registered_users localhost');
    expect(refused.status, refused.body).to.equal(401);
    const after = await scrape(sb);
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(after.types.get('mod_rest_actions_refused_total')).to.equal('counter');
    expect(delta('mod_rest_actions_total{action="command"}')).to.equal(1);
    expect(delta('mod_rest_actions_refused_total{action="command"}')).to.equal(1);
  });

  it('is refused to an address outside metrics_allowed_ips (403), and answers GET and HEAD only (405)', async () => {
    const refused = await post(sb, null, { method: 'GET', path: '/rest/metrics', address: '::1' });
    expect([refused.status, refused.body]).to.deep.equal([403, 'Error: this address may not read /rest/metrics (metrics_allowed_ips).']);
    const posted = await post(sb, 'x', { path: '/rest/metrics' });
    expect([posted.status, posted.headers.allow]).to.deep.equal([405, 'GET, HEAD']);
    expect(posted.body).to.equal('Error: /rest/metrics and /rest/health answer GET and HEAD only.');
    expect((await post(sb, null, { method: 'HEAD', path: '/rest/health', address: '::1' })).status).to.equal(200);
  });

  it('is shown by the mod_rest_stats command, as ejabberdctl runs it', async () => {
    const reply = await post(sb, '--auth admin localhost admin-pw mod_rest_stats');
    expect(reply.status, reply.body).to.equal(200);
    const stats = parsePrometheus(reply.body);
    expect(value(stats, 'mod_rest_requests_total{route="/",class="2xx"}')).to.be.at.least(3);
    const listed = await sb.rpc('lists:member(mod_rest_stats, [element(1, C) || C <- ejabberd_commands:list_commands()]).');
    expect(listed).to.equal('{ok, true}');
  });

  it('health answers 200 while the worker answers, 503 with the reason when it is frozen, and 200 once it is replaced', async () => {
    const ok = await health(sb);
    expect(ok.status, ok.body).to.equal(200);
    expect(ok.body).to.match(/^OK: the REST worker answered in [0-9.]+ ms\.$/);
    expect(ok.headers['cache-control']).to.equal('no-store');

    const [worker] = sb.workerPids();
    process.kill(worker!, 'SIGSTOP');
    try {
      const started = Date.now();
      const frozen = await health(sb);
      expect([frozen.status, frozen.body]).to.deep.equal([503, 'Error: unhealthy: the REST worker did not answer the health check in time.']);
      expect(Date.now() - started, 'within health_timeout (1 s) and a little').to.be.below(2_500);
      // The timed-out ping made the owner probe the worker: no pong in 5 s, so it is killed
      // (SIGKILL reaches a stopped process) and another one started.
      expect(await until(async () => (await health(sb)).status === 200, 15_000), 'healthy again').to.equal(true);
    } finally {
      try {
        process.kill(worker!, 'SIGCONT');
      } catch {
        // gone, as it should be
      }
    }
    expect(sb.workerPids()).to.not.include(worker);
    const s = await scrape(sb);
    expect(value(s, 'mod_rest_worker_events_total{event="frozen"}')).to.equal(1);
  });

  it('health answers 503 while the worker is stopped, and 200 once it runs again', async () => {
    expect(await sb.rpc('supervisor:terminate_child(ejabberd_gen_mod_sup, mod_rest_port).')).to.equal('{ok, ok}');
    try {
      const down = await health(sb);
      expect([down.status, down.body]).to.deep.equal([503, 'Error: unhealthy: the REST worker is not running.']);
      const s = await scrape(sb);
      expect(value(s, 'mod_rest_worker_up')).to.equal(0);
      expect(value(s, 'mod_rest_worker_state{state="down"}')).to.equal(1);
    } finally {
      // As an operator would: the module restarted, which starts the port owner again.
      await sb.rpc('gen_mod:stop_module(<<"localhost">>, mod_rest), gen_mod:start_module(<<"localhost">>, mod_rest).');
    }
    expect(await until(async () => (await health(sb)).status === 200, 15_000), 'healthy again').to.equal(true);
    expect(value(await scrape(sb), 'mod_rest_worker_up')).to.equal(1);
  });

  it("has a page in ejabberd's web admin with the figures and the vhost's options", async () => {
    // Not through post(): the web admin is not mod_rest's, and not in its OpenAPI document.
    const admin = (p: string, password = 'admin-pw') =>
      fetch(`http://127.0.0.1:${sb.options.httpPort}/admin/server/localhost/${p}`, {
        headers: { Authorization: `Basic ${Buffer.from(`admin@localhost:${password}`).toString('base64')}` },
        signal: AbortSignal.timeout(10_000),
      });
    const menu = await admin('');
    expect(menu.status).to.equal(200);
    expect(await menu.text()).to.match(/href=['"][^'"]*rest\/['"]/);
    const page = await admin('rest/');
    expect(page.status).to.equal(200);
    const html = await page.text();
    for (const words of ['mod_rest_requests_total', 'route=/, class=2xx', 'mod_rest_worker_up', 'Options of localhost', 'metrics_allowed_ips', '127.0.0.1/32', 'health_timeout']) {
      expect(html, words).to.include(words);
    }
    expect((await admin('rest/', 'wrong')).status).to.equal(401);
  });
});
