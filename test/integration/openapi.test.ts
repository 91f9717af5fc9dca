// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/openapi.json on a real ejabberd: public, the document the worker builds.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox.js';
import { describeApi } from '../../src/rest/openapi.js';
import { post, startSandbox, stopSandbox, suiteFailed } from './support.js';

describe('GET /rest/openapi.json', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('openapi', { users: [['alice', 'Al1ce-openapi-pw']] });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  it('answers anyone, with or without credentials, the OpenAPI 3.1 document in JSON', async function () {
    const expected = JSON.parse(JSON.stringify(describeApi()));
    const basic = `Basic ${Buffer.from('alice:Al1ce-openapi-pw').toString('base64')}`;
    for (const headers of [{}, { Authorization: basic }] as Array<Record<string, string>>) {
      const reply = await post(sb!, null, { method: 'GET', path: '/rest/openapi.json', headers });
      expect([reply.status, reply.contentType]).to.deep.equal([200, 'application/json']);
      expect(JSON.parse(reply.body)).to.deep.equal(expected);
    }
  });

  it('is not an operation for other methods: 401 without credentials', async function () {
    const reply = await post(sb!, '{}', { path: '/rest/openapi.json', headers: { 'Content-Type': 'application/json' } });
    expect(reply.status).to.equal(401);
    expect(reply.headers['www-authenticate']).to.match(/^Basic realm=/);
  });
});
