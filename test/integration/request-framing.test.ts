// SPDX-License-Identifier: GPL-2.0-or-later
// A request is exactly what its client sent: ejabberd_http hands the handler every byte it
// buffered, so a body longer than its Content-Length holds the next request on the connection
// (someone else's, behind a pooling proxy), and duplicate Content-Length headers are the
// classic smuggling ambiguity (security issue, item 4). Both are refused, nothing is run.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox, suiteFailed } from './support';
import { rawExchange } from './raw-http';

const ADMIN_PW = 'Adm1n-framing-pw';

describe('request framing (Content-Length)', function () {
  let sb: Sandbox | undefined;
  before(async function () {
    sb = await startSandbox('framing', { users: [['admin', ADMIN_PW]], modRest: { access_commands: 'open' } });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  const request = (body: string, contentLength = Buffer.byteLength(body), extraHeaders = ''): string =>
    `POST /rest HTTP/1.1\r\nHost: localhost\r\n${extraHeaders}Content-Length: ${contentLength}\r\n\r\n${body}`;

  it('answers a well-framed request sent on a raw connection (the control)', async function () {
    const reply = await rawExchange(sb!, request('connected_users_number'));
    expect(reply).to.match(/^HTTP\/1\.1 200 /);
  });

  it("refuses with 400 a body that runs into the next request, which is neither run nor stored", async function () {
    const first = 'register mallory localhost "';
    const second = request(`--auth admin localhost ${ADMIN_PW} registered_users localhost`);
    const reply = await rawExchange(sb!, request(first) + second);
    expect(reply).to.match(/^HTTP\/1\.1 400 /);
    expect(reply).to.include('Error: the body is longer than its Content-Length.');
    expect(reply).to.not.include(ADMIN_PW);
    const check = await post(sb!, 'check_account mallory localhost');
    expect(check.status, 'mallory was not registered').to.not.equal(200);
  });

  it('refuses with 400 two Content-Length headers, equal or not', async function () {
    for (const lengths of [[22, 22], [22, 5]]) {
      const body = 'connected_users_number';
      const reply = await rawExchange(sb!, request(body, lengths[1], `Content-Length: ${lengths[0]}\r\n`));
      expect(reply, lengths.join(',')).to.match(/^HTTP\/1\.1 400 /);
      expect(reply).to.include('Error: the request has more than one Content-Length header.');
    }
  });
});
