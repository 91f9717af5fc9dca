// SPDX-License-Identifier: GPL-2.0-or-later
// --auth passwords must appear in no log line, at any log level: neither in ejabberd's log
// (where the worker's lines go too) nor on the node's console.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ejabberdVersion } from '../../scripts/sandbox';
import { post, startSandbox, stopSandbox } from './support';

const secret = (): string => `pw${randomBytes(8).toString('hex')}`;

// Every level ejabberd knows.
for (const loglevel of ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency', 'none']) {
  describe(`passwords at log level ${loglevel}`, function () {
    this.timeout(60_000);

    it('appear in no log line, whether they are right or wrong', async () => {
      const right = secret();
      const wrong = [secret(), secret(), secret()];
      const sb = await startSandbox(`secrets-${loglevel}`, {
        users: [['admin', right]],
        config: { loglevel },
        modRest: { access_commands: [{ restaccess: ['registered_users'] }] },
      });
      try {
        const answers = [
          await post(sb, `--auth admin localhost ${right} registered_users localhost`),
          await post(sb, `--auth admin localhost ${right} connected_users_number`),
          await post(sb, `--auth admin localhost ${wrong[0]} registered_users localhost`),
          await post(sb, `--auth nobody localhost ${wrong[1]} registered_users localhost`),
          await post(sb, `--auth admin no.such.host ${wrong[2]} bogus_command x y`),
        ];
        expect(answers.map((a) => a.status)).to.deep.equal([200, 403, 401, 401, 401]);
      } finally {
        await sb.stop();
      }
      const log = sb.log();
      const out = existsSync(sb.consolePath) ? readFileSync(sb.consolePath, 'utf8') : '';
      if (loglevel === 'info') expect(log, 'ejabberd wrote its log').to.include(`ejabberd ${ejabberdVersion()}`);
      if (loglevel === 'debug') {
        // Proof that debug lines, ours and the worker's, were really written.
        expect(log).to.include("mod_rest: running command 'registered_users'");
        expect(log).to.match(/mod_rest worker: request .*action="command"/);
      }
      for (const pw of [right, ...wrong]) {
        expect(log.includes(pw), `ejabberd.log contains ${pw}`).to.equal(false);
        expect(out.includes(pw), `the console contains ${pw}`).to.equal(false);
      }
      await stopSandbox(sb);
    });
  });
}
