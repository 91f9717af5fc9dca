// SPDX-License-Identifier: GPL-2.0-or-later
// The web admin page an operator reads (ejabberd_web_admin at /admin, logged in as an admin):
// traffic sparklines as inline SVG, latency percentiles, the webhooks with their health, the
// options with units (a timeout as `5 seconds`, never a bare number of milliseconds) and no
// secret anywhere (issue 16 item 12: a webhook's secret, a URL's user info and query token).
// Its HTML is checked as text, then headless Chromium (Debian's) renders it into a screenshot.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT, type Sandbox } from '../../scripts/sandbox.js';
import { ensureDebianTool } from './debian.js';
import { messageXml, post, sleep, startSandbox, stopSandbox, suiteFailed } from './support.js';

const SECRET = 'hmac-secret-never-shown';
const QUERY_TOKEN = 'query-token-never-shown';
const URL_PASSWORD = 'userinfo-password-never-shown';
const PATH_TOKEN = 'PathTokenNeverShown0123456789';
/** mod_rest_sampler's interval between two readings. */
const SAMPLE_INTERVAL_MS = 10_000;
/** Where the screenshot is left for people to look at (_build is not committed). */
const SCREENSHOT = path.join(ROOT, '_build', 'screenshots', 'webadmin-rest.png');

describe("the web admin page (ejabberd_web_admin at /admin): what an operator needs, and no secret", function () {
  this.timeout(90_000);
  let sb: Sandbox;
  let service: http.Server;
  let pageUrl = '';
  const calls: string[] = [];

  before(async () => {
    // A webhook service that answers 204, and a webhook whose service is down.
    const port = await freePort();
    service = http.createServer((req, res) => {
      calls.push(req.url ?? '');
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => service.listen(port, '127.0.0.1', resolve));
    const closed = await freePort();
    sb = await startSandbox('webadmin', {
      requestHandlers: { '/admin': 'ejabberd_web_admin' },
      users: [['admin', 'admin-pw'], ['nolan', 'pw']],
      modRest: {
        webhooks: [
          { url: `http://127.0.0.1:${port}/hooks/${PATH_TOKEN}/{kind}?token=${QUERY_TOKEN}&to={to}`, domain: 'bot.localhost', secret: SECRET },
          { url: `http://bot:${URL_PASSWORD}@127.0.0.1:${closed}/down`, domain: 'down.localhost', retries: 0, timeout: 2 },
        ],
      },
    });
    pageUrl = `http://127.0.0.1:${sb.options.httpPort}/admin/server/localhost/rest/`;
    // Traffic for the figures, and one call to each webhook.
    for (let i = 0; i < 20; i++) expect((await post(sb, messageXml('nolan@localhost', 'localhost/rest', `n${i}`))).status).to.equal(200);
    expect((await post(sb, messageXml('echo@bot.localhost', 'localhost/rest', 'hi'))).status).to.equal(200);
    expect((await post(sb, messageXml('echo@down.localhost', 'localhost/rest', 'hi'))).status).to.equal(200);
    for (let i = 0; i < 50 && calls.length === 0; i++) await sleep(100);
    expect(calls, 'the webhook service was called').to.have.length(1);
    // One 10-second reading past the burst, so that the sparklines have a shape: a burst, then quiet.
    await sleep(SAMPLE_INTERVAL_MS + 500);
  });

  after(async function () {
    service?.close();
    await stopSandbox(sb, suiteFailed(this));
  });

  const admin = (password = 'admin-pw') =>
    fetch(pageUrl, {
      headers: { Authorization: `Basic ${Buffer.from(`admin@localhost:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(10_000),
    });

  it('shows no secret: not the webhook secret, nor a URL user info, query token or path token', async () => {
    const page = await admin();
    expect(page.status).to.equal(200);
    const html = await page.text();
    for (const secret of [SECRET, QUERY_TOKEN, URL_PASSWORD, PATH_TOKEN]) expect(html, secret).to.not.include(secret);
    expect(html).to.include('secret: (set, hidden)');
    expect(html).to.include('/hooks/***/{kind}?token=***&amp;to=***');
    expect(html).to.include('http://***@127.0.0.1:');
    expect((await admin('wrong')).status).to.equal(401);
  });

  it('gives every option its unit: timeouts in seconds as ejabberd.yml reads them, sizes in bytes', async () => {
    const html = await (await admin()).text();
    const option = (name: string) => new RegExp(`<td>${name}</td><td>([^<]*)</td>`).exec(html)?.[1];
    expect(option('request_timeout')).to.equal('5 seconds');
    expect(option('health_timeout')).to.equal('1 second');
    expect(option('iq_timeout')).to.equal('30 seconds');
    expect(option('iq_max_timeout')).to.equal('300 seconds');
    expect(option('max_body_size')).to.equal('20971520 bytes (20 MiB)');
    expect(option('max_in_flight')).to.equal('512 requests at once, node-wide');
    expect(option('webhooks')).to.include('timeout: 10 seconds').and.to.include('timeout: 2 seconds').and.to.include('retry_delay: 1 second');
    // No option value is a bare number.
    const values = [...html.matchAll(/<tr><td>([a-z_]+)<\/td><td>([^<]*)<\/td><\/tr>/g)].filter(([, k]) => !k!.startsWith('mod_rest'));
    expect(values.length).to.be.at.least(20);
    for (const [, k, v] of values) expect(v, k).to.not.match(/^\d+$/);
  });

  it('shows latency percentiles (p50, p90, p99) per route rather than sums', async () => {
    const html = await (await admin()).text();
    expect(html).to.match(/<td>route<\/td><td>requests<\/td><td>p50<\/td><td>p90<\/td><td>p99<\/td><td>mean<\/td>/);
    const row = /<tr><td>\/ \(since start\)<\/td><td>(\d+)<\/td><td>([^<]+)<\/td><td>([^<]+)<\/td><td>([^<]+)<\/td>/.exec(html);
    expect(row, 'a row for the route /').to.not.equal(null);
    expect(Number(row![1])).to.be.at.least(22);
    for (const p of row!.slice(2)) expect(p).to.match(/^(> )?[0-9.]+ (ms|s)$/);
    expect(html).to.include('every route (last ten minutes)');
    expect(html).to.not.include('s in all');
  });

  it('draws request and error rates as inline SVG sparklines, with no script', async () => {
    const html = await (await admin()).text();
    const svgs = html.match(/<svg [^>]*class=['"]mod-rest-sparkline['"][^>]*>.*?<\/svg>/g) ?? [];
    expect(svgs).to.have.length(2);
    const points = (/points=['"]([^'"]+)['"]/.exec(svgs[0]!)?.[1] ?? '').split(' ').map((p) => p.split(',').map(Number) as [number, number]);
    expect(points.length, 'a step (two points) a 10-second interval, the burst and what followed').to.be.at.least(4);
    // The burst at the top of the box, the quiet after it lower: the line has the traffic's shape.
    const heights = points.map(([, y]) => y);
    expect(Math.min(...heights)).to.be.below(5);
    expect(Math.max(...heights)).to.be.above(Math.min(...heights) + 10);
    expect(points.at(-1)![0], 'the line ends at the right edge: now').to.equal(300);
    expect(html).to.match(/Requests a second: now [0-9.]+\/s, peak [0-9.]+\/s/);
    expect(html).to.match(/Errors \(5xx answers\) a second: now/);
    expect(html.slice(html.indexOf('<h1>mod_rest'))).to.not.match(/<script/i);
  });

  it("lists the vhost's webhooks with their health", async () => {
    const html = await (await admin()).text();
    expect(html).to.include('<h2>Webhooks of localhost</h2>');
    expect(html).to.match(/<td>bot\.localhost<\/td><td>ok: the last call was answered 2xx \(\d+ s ago\)<\/td><td>1<\/td>/);
    expect(html).to.match(/<td>down\.localhost<\/td><td>failing: the last call failed \(\d+ s ago\)<\/td><td>0<\/td><td>1<\/td>/);
  });

  it('renders in headless Chromium (a screenshot)', async function () {
    this.timeout(300_000); // room to install Debian's chromium on a first run
    ensureDebianTool('chromium');
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    const profile = mkdtempSync(path.join(os.tmpdir(), 'mod_rest-chromium-'));
    const withLogin = pageUrl.replace('http://', `http://${encodeURIComponent('admin@localhost')}:admin-pw@`);
    try {
      await new Promise<void>((resolve, reject) =>
        execFile(
          'chromium',
          ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, `--screenshot=${SCREENSHOT}`,
            '--window-size=1200,1600', withLogin],
          { timeout: 60_000 },
          (err, _out, stderr) => (err ? reject(new Error(`chromium: ${err.message}\n${stderr}`)) : resolve()),
        ),
      );
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString()).to.equal('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)], 'width, height').to.deep.equal([1200, 1600]);
    // A login prompt or an error page is a few kilobytes of flat colour; the page is not.
    expect(statSync(SCREENSHOT).size).to.be.above(30_000);
  });
});
