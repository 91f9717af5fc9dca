// SPDX-License-Identifier: GPL-2.0-or-later
// A JSON body sent without Content-Type: application/json (curl -d, which says
// application/x-www-form-urlencoded; Python requests' data=) is not a command line: it gets a 415
// that says what to send, not "unknown command '{"to":'", with and without credentials. Sent by
// the real curl.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Sandbox } from '../../scripts/sandbox.js';
import { post, startSandbox, stopSandbox, suiteFailed } from './support.js';

const run = promisify(execFile);
const ALICE_PW = 'Al1ce-json-pw-4d';
const JSON_WITHOUT_TYPE = 'Error: the body is JSON, not a command line: send it with Content-Type: application/json (and credentials).';
const MESSAGE = '{"to":"alice@localhost","body":"hi"}';

describe('a JSON body sent as a form or as text (curl -d, requests data=)', function () {
  let sb: Sandbox | undefined;

  before(async function () {
    sb = await startSandbox('json-without-type', { users: [['alice', ALICE_PW]], modRest: { access_commands: 'open' } });
  });
  after(async function () {
    await stopSandbox(sb, suiteFailed(this));
  });

  /** curl's status line and body: `STATUS BODY`. */
  async function curl(args: string[]): Promise<string> {
    const { stdout } = await run('curl', ['-s', '--max-time', '10', '-w', ' %{http_code}', ...args, sb!.restUrl]);
    const at = stdout.lastIndexOf(' ');
    return `${stdout.slice(at + 1)} ${stdout.slice(0, at)}`;
  }

  it('answers curl -d with a JSON body 415 and says to send Content-Type: application/json, without credentials', async function () {
    expect(await curl(['-d', MESSAGE])).to.equal(`415 ${JSON_WITHOUT_TYPE}`);
  });

  it('answers the same with Basic credentials (the API would otherwise run it as a command line)', async function () {
    expect(await curl(['-u', `alice:${ALICE_PW}`, '-d', MESSAGE])).to.equal(`415 ${JSON_WITHOUT_TYPE}`);
  });

  it('answers the same to a JSON body with no Content-Type at all (Python requests with data=a string)', async function () {
    expect(await curl(['-H', 'Content-Type:', '-d', MESSAGE])).to.equal(`415 ${JSON_WITHOUT_TYPE}`);
    expect(await curl(['-u', `alice:${ALICE_PW}`, '-H', 'Content-Type:', '-d', MESSAGE])).to.equal(`415 ${JSON_WITHOUT_TYPE}`);
  });

  it('answers a JSON array, or JSON after whitespace, as text/plain the same', async function () {
    for (const body of ['[1, 2]', '\n  {"kind": "message"}']) {
      const reply = await post(sb!, body);
      expect([reply.status, reply.body], JSON.stringify(body)).to.deep.equal([415, JSON_WITHOUT_TYPE]);
    }
  });

  it('sends the same JSON with its Content-Type (202), and still runs command lines', async function () {
    expect(await curl(['-u', `alice:${ALICE_PW}`, '-H', 'Content-Type: application/json', '-d', MESSAGE])).to.equal('202 ');
    expect(await curl(['-d', 'registered_users localhost'])).to.equal('200 alice');
  });
});
