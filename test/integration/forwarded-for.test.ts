// X-Forwarded-For only counts from ejabberd's trusted_proxies: anyone else could claim any IP.
import { expect } from 'chai';
import type { Sandbox } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox } from './support';

const COMMAND = 'connected_users_number';

describe('X-Forwarded-For', function () {
  this.timeout(60_000);

  describe('from a peer that is not a trusted proxy', () => {
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('xff-untrusted', { modRest: { allowed_ips: ['10.1.2.3'], access_commands: 'open' } });
    });
    after(async () => stopSandbox(sb));

    it('is ignored: the TCP peer is checked, and refused', async () => {
      const r = await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '10.1.2.3' } });
      expect([r.status, r.body]).to.deep.equal([406, 'Error: REST request is rejected by service.']);
    });
  });

  describe('from a trusted proxy', () => {
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('xff-trusted', {
        modRest: { allowed_ips: ['10.1.2.3'], access_commands: 'open' },
        config: { trusted_proxies: ['127.0.0.1'] },
      });
    });
    after(async () => stopSandbox(sb));

    it('names the client whose IP is checked', async () => {
      expect((await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '10.1.2.3' } })).status).to.equal(200);
      expect((await post(sb, COMMAND, { headers: { 'X-Forwarded-For': '10.9.9.9' } })).status).to.equal(406);
    });
  });
});
