// SPDX-License-Identifier: GPL-2.0-or-later
// Options as operators change them: reload_config without a restart, and per-vhost options
// through host_config with the Host header choosing the vhost.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sandbox } from '../../scripts/sandbox';
import { logEventually, post, startSandbox, stopSandbox } from './support';

const MSG = (to: string) => `<message to="${to}" from="localhost/rest"><body>hi</body></message>`;

describe('options', function () {
  this.timeout(60_000);

  describe('reload_config', () => {
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('reload', { users: [['nolan', 'pw'], ['zed', 'pw']], modRest: { allowed_destinations: ['nolan@localhost'], access_commands: 'open' } });
    });
    after(async () => stopSandbox(sb));

    it("writes the worker's log lines into ejabberd's log", async () => {
      expect(await logEventually(sb, /mod_rest worker: worker started pid=\d+ node="v\d+/)).to.equal(true);
    });

    it('applies a changed option without restarting the worker', async () => {
      expect((await post(sb, MSG('zed@localhost'))).status).to.equal(406);
      const [workerBefore] = sb.workerPids();
      writeFileSync(
        path.join(sb.modulesPath, 'conf', 'mod_rest.yml'),
        JSON.stringify({
          // The listener exactly as the sandbox wrote it: a changed one is restarted by the
          // reload, and requests in that moment are refused (flaky ECONNREFUSED).
          listen: [{ port: sb.options.httpPort, ip: '127.0.0.1', module: 'ejabberd_http', backlog: 1024, request_handlers: { '/rest': 'mod_rest' } }],
          modules: { mod_rest: { allowed_destinations: ['zed@localhost'] } },
        }),
      );
      const reload = await post(sb, 'reload_config');
      expect(reload.status, reload.body).to.equal(200);
      expect((await post(sb, MSG('zed@localhost'))).status).to.equal(200);
      expect((await post(sb, MSG('nolan@localhost'))).status).to.equal(406);
      expect(sb.workerPids()).to.deep.equal([workerBefore]);
    });
  });

  describe('host_config', () => {
    let sb: Sandbox;
    before(async () => {
      sb = await startSandbox('vhosts', {
        users: [['nolan', 'pw']],
        config: {
          hosts: ['localhost', 'example.test'],
          host_config: { 'example.test': { modules: { mod_rest: { allowed_stanza_types: ['presence'] } } } },
        },
      });
    });
    after(async () => stopSandbox(sb));

    it("uses the options of the vhost the Host header names", async () => {
      expect((await post(sb, MSG('nolan@localhost'), { host: 'example.test' })).status).to.equal(406);
      expect((await post(sb, MSG('nolan@localhost'), { host: 'EXAMPLE.test:5285' })).status).to.equal(406);
      expect((await post(sb, MSG('nolan@localhost'), { host: 'localhost' })).status).to.equal(200);
    });

    it('uses the first vhost in hosts order when the Host header names none', async () => {
      expect((await post(sb, MSG('nolan@localhost'), { host: '127.0.0.1' })).status).to.equal(200);
      expect((await post(sb, MSG('nolan@localhost'), { host: 'unknown.example' })).status).to.equal(200);
    });

    it('runs one worker for the whole node, whatever the number of vhosts', () => {
      expect(sb.workerPids()).to.have.length(1);
    });
  });
});
