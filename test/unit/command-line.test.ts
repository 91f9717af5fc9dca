// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { parseCommand, splitCommandLine } from '../../src/rest/command-line.js';
import { RestError } from '../../src/rest/errors.js';

function failure(fn: () => unknown): RestError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(RestError);
    return err as RestError;
  }
  expect.fail('expected a RestError');
}

describe('command-line: splitCommandLine', () => {
  it('splits a plain command on spaces', () => {
    expect(splitCommandLine('registered_users localhost')).to.deep.equal(['registered_users', 'localhost']);
  });

  it('follows the original quoting rules on the reference example', () => {
    expect(splitCommandLine('  a1 b2 "c3 d4\"e5" c6   d7 \\"  e8"f9   g0 \\" h1  ')).to.deep.equal([
      'a1',
      'b2',
      'c3 d4"e5',
      'c6',
      'd7',
      '  e8"f9   g0 ',
      'h1',
    ]);
  });

  it('keeps an empty quoted argument as an empty string (deliberate difference)', () => {
    expect(splitCommandLine('send_message chat a@localhost b@localhost "" "hello world"')).to.deep.equal([
      'send_message',
      'chat',
      'a@localhost',
      'b@localhost',
      '',
      'hello world',
    ]);
  });

  it('runs an unterminated quoted argument to the end of the line', () => {
    expect(splitCommandLine('a "unterminated text')).to.deep.equal(['a', 'unterminated text']);
  });

  it('drops a lone quote at the very end of the line', () => {
    expect(splitCommandLine('a "')).to.deep.equal(['a']);
    expect(splitCommandLine('a \\"')).to.deep.equal(['a']);
  });

  it('treats a quote inside an unquoted argument as an ordinary character', () => {
    expect(splitCommandLine('say it"s x"y')).to.deep.equal(['say', 'it"s', 'x"y']);
  });

  it('also separates on tab, CR and LF outside quotes, and keeps them inside (deliberate difference)', () => {
    expect(splitCommandLine('register\tbob\r\nlocalhost pw\n')).to.deep.equal(['register', 'bob', 'localhost', 'pw']);
    expect(splitCommandLine('x "line one\nline two"\n')).to.deep.equal(['x', 'line one\nline two']);
  });

  it('closes a quote before a tab or newline as well as before a space', () => {
    expect(splitCommandLine('"a b"\t"c d"\n')).to.deep.equal(['a b', 'c d']);
  });

  it('yields nothing for a blank line', () => {
    expect(splitCommandLine('')).to.deep.equal([]);
    expect(splitCommandLine(' \t\r\n ')).to.deep.equal([]);
  });
});

describe('command-line: parseCommand', () => {
  it('returns the command name and its arguments without auth', () => {
    expect(parseCommand(Buffer.from('register bob localhost pw'))).to.deep.equal({
      kind: 'command',
      name: 'register',
      args: ['bob', 'localhost', 'pw'],
      auth: null,
    });
  });

  it('takes USER HOST PASSWORD after --auth and the command after them', () => {
    expect(parseCommand(Buffer.from('--auth admin localhost "s3cret pass" registered_users localhost'))).to.deep.equal({
      kind: 'command',
      name: 'registered_users',
      args: ['localhost'],
      auth: { user: 'admin', server: 'localhost', password: 's3cret pass' },
    });
  });

  it('refuses --auth without all three credentials and a command', () => {
    for (const line of ['--auth', '--auth admin', '--auth admin localhost', '--auth admin localhost pw']) {
      const e = failure(() => parseCommand(Buffer.from(line)));
      expect(e.code, line).to.equal('BAD_AUTH_SYNTAX');
      expect(e.status).to.equal(400);
      expect(e.body).to.equal('Error: --auth needs USER HOST PASSWORD before the command.');
    }
  });

  it('refuses an empty command line', () => {
    const e = failure(() => parseCommand(Buffer.from('   \n')));
    expect(e.code).to.equal('EMPTY_COMMAND');
    expect(e.body).to.equal('Error: no command given.');
  });

  it('refuses an empty command name', () => {
    expect(failure(() => parseCommand(Buffer.from('"" localhost'))).code).to.equal('EMPTY_COMMAND');
  });

  it('refuses a command line that is not valid UTF-8', () => {
    const e = failure(() => parseCommand(Buffer.from([0x72, 0x65, 0x67, 0xff, 0x20, 0x61])));
    expect(e.code).to.equal('BAD_UTF8_COMMAND');
    expect(e.status).to.equal(400);
    expect(e.body).to.equal('Error: the command line is not valid UTF-8.');
  });

  it('decodes UTF-8 arguments', () => {
    const action = parseCommand(Buffer.from('send_message chat a@localhost b@localhost "" "héllo ✓"'));
    expect(action).to.have.property('args').that.deep.equals(['chat', 'a@localhost', 'b@localhost', '', 'héllo ✓']);
  });
});
