// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/{payload}/{to}: every payload the OpenAPI document lists is a query that works on a GET
// (answered, never 422 for want of a body), and the payloads that are no queries are not paths.
// And what /rest/metrics and /rest/health answer a request ejabberd_http passes on malformed.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import type { OpenApiDocument } from '../../src/rest/openapi.js';
import { rawExchange } from './raw-http.js';
import { post, startSandbox, stopSandbox, suiteFailed } from './support.js';

const ALICE_PW = 'Al1ce-get-pw-9a';
const basic = { Authorization: `Basic ${Buffer.from(`alice:${ALICE_PW}`).toString('base64')}` };

describe('GET /rest/{payload}/{to}: the payloads listed are the queries that work', function () {
  let sb: Sandbox | undefined;
  let listed: string[] = [];

  before(async function () {
    sb = await startSandbox('api-get-queries', {
      users: [['alice', ALICE_PW]],
      config: {
        modules: {
          mod_roster: {}, mod_disco: {}, mod_version: {}, mod_ping: {}, mod_last: {}, mod_mam: {}, mod_register: {},
          mod_privacy: {}, mod_blocking: {}, mod_stats: {}, mod_stun_disco: {},
          mod_http_upload: { put_url: 'http://127.0.0.1:5444/upload', docroot: '/nonexistent-mod-rest-upload' },
        },
      },
    });
    const doc = JSON.parse((await post(sb, null, { method: 'GET', path: '/rest/openapi.json' })).body) as OpenApiDocument;
    const payload = doc.paths['/{payload}/{to}']!.get!.parameters!.find((p) => p.name === 'payload')!;
    listed = payload.schema.enum as string[];
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('lists no payload that is not a query (delay, nick, dataform, result, rsm, upload_slot, sets)', function () {
    expect(listed).to.include.members(['ping', 'version', 'disco', 'archive']);
    for (const notQuery of ['delay', 'nick', 'dataform', 'result', 'rsm', 'upload_slot', 'command', 'oob', 'block', 'unblock']) {
      expect(listed, notQuery).not.to.include(notQuery);
    }
  });

  it('answers every listed payload on a GET, none with 422', async function () {
    for (const payload of listed) {
      // mod_http_upload serves its own component; a blocklist is the account's own.
      const to = { upload_request: 'upload.localhost', blocklist: 'alice@localhost' }[payload] ?? 'localhost';
      const reply = await post(sb!, null, { method: 'GET', path: `/rest/${payload}/${to}`, headers: basic });
      expect(reply.status, `${payload}: ${reply.body}`).not.to.equal(422);
      expect(reply.status, `${payload}: ${reply.body}`).to.be.below(500);
    }
    const slot = await post(sb!, null, { method: 'GET', path: '/rest/upload_request/upload.localhost?filename=a.txt&size=3', headers: basic });
    expect([slot.status, slot.body], 'a slot').to.include(200);
    const ping = await post(sb!, null, { method: 'GET', path: '/rest/ping/localhost', headers: basic });
    expect(ping.status, ping.body).to.equal(200);
  });

  it('answers a payload that is no query as an unknown path (404), not 422', async function () {
    for (const payload of ['delay', 'nick', 'upload_slot', 'rsm']) {
      const reply = await post(sb!, null, { method: 'GET', path: `/rest/${payload}/localhost`, headers: basic });
      expect(reply.status, `${payload}: ${reply.body}`).to.equal(404);
    }
  });

  it('answers /rest/metrics and /rest/health with two X-Forwarded-For headers 400 in text/plain, as declared', async function () {
    for (const path of ['/rest/metrics', '/rest/health']) {
      const answer = await rawExchange(
        sb!,
        `GET ${path} HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nConnection: close\r\n\r\n`,
      );
      expect(answer, path).to.match(/^HTTP\/1\.1 400 /);
      expect(answer.toLowerCase(), path).to.include('content-type: text/plain; charset=utf-8');
    }
  });
});
