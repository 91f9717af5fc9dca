// SPDX-License-Identifier: GPL-2.0-or-later
// X-Forwarded-For only counts from ejabberd's trusted_proxies, through a chain of trusted
// proxies: anyone else could claim any IP, and a chain ejabberd does not trust must not be
// admitted as the proxy's own address (security issue, item 3).
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox } from './support';
import { rawExchange } from './raw-http';

const COMMAND = 'connected_users_number';
const UNTRUSTED = 'Error: X-Forwarded-For is only accepted through trusted_proxies.';

describe('X-Forwarded-For', function () {
  this.timeout(60_000);

  describe('from a peer that is not a trusted proxy', () => {
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('xff-untrusted', { modRest: { allowed_ips: ['127.0.0.1', '10.1.2.3'], access_commands: 'open' } });
    });
    after(async () => stopSandbox(sb));

    it('is refused with 403, never taken as the peer (which allowed_ips admits)', async () => {
      const r = await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '10.1.2.3' } });
      expect([r.status, r.body]).to.deep.equal([403, UNTRUSTED]);
      const plain = await post(sb, COMMAND);
      expect([plain.status, plain.body], 'without the header').to.deep.equal([200, '0']);
    });
  });

  describe('from a trusted proxy', () => {
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('xff-trusted', {
        // The proxy's own address is admitted too: a chain ejabberd does not trust must not
        // fall back to it.
        modRest: { allowed_ips: ['127.0.0.1', '10.1.2.3'], access_commands: 'open' },
        config: { trusted_proxies: ['127.0.0.1'] },
      });
    });
    after(async () => stopSandbox(sb));

    it('names the client whose IP is checked', async () => {
      expect((await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '10.1.2.3' } })).status).to.equal(200);
      expect((await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '10.9.9.9' } })).status).to.equal(406);
    });

    it("refuses a chain through an untrusted hop (a client's own header, appended to by the proxy)", async () => {
      const r = await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '1.1.1.1, 203.0.113.5' } });
      expect([r.status, r.body]).to.deep.equal([403, UNTRUSTED]);
    });

    it('refuses two X-Forwarded-For headers with 400', async () => {
      const reply = await rawExchange(
        sb,
        `POST /rest HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-For: 1.1.1.1\r\nContent-Length: ${COMMAND.length}\r\n\r\n${COMMAND}`,
      );
      expect(reply).to.match(/^HTTP\/1\.1 400 /);
      expect(reply).to.include('Error: the request has more than one X-Forwarded-For header.');
    });
  });
});
