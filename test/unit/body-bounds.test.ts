// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { checkFormBounds, checkJsonBounds } from '../../src/rest/body-bounds.js';
import { parseCommand } from '../../src/rest/command-line.js';
import { RestError } from '../../src/rest/errors.js';

const LIMITS = { maxXmlDepth: 4, maxXmlElements: 10 };
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof RestError ? `${e.code}: ${e.reason}` : String(e);
  }
};

describe('JSON and form bodies bounded before they are parsed', () => {
  it('takes a JSON body of up to max_xml_elements values and max_xml_depth levels', () => {
    expect(code(() => checkJsonBounds(Buffer.from('{"a":[1,2,3],"b":{"c":{"d":[4]}}}'), LIMITS))).to.equal(undefined);
  });

  it('refuses a JSON body of more values than max_xml_elements', () => {
    expect(code(() => checkJsonBounds(Buffer.from(`[${Array(11).fill(1).join(',')}]`), LIMITS))).to.equal('JSON_TOO_LARGE: too many values');
  });

  it('refuses a JSON body nested deeper than max_xml_depth', () => {
    expect(code(() => checkJsonBounds(Buffer.from('[[[[[1]]]]]'), LIMITS))).to.equal('JSON_TOO_LARGE: too deep');
  });

  it('does not count commas, brackets and escaped quotes inside strings', () => {
    const body = Buffer.from(JSON.stringify({ body: `,,,,,,,,,,,,[[[[[[{{{{{{ \\" ",,,,,,,,,` }));
    expect(code(() => checkJsonBounds(body, LIMITS))).to.equal(undefined);
  });

  it('refuses more form fields than max_xml_elements, and takes exactly that many', () => {
    const form = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `f${i}=1`).join('&'));
    expect(code(() => checkFormBounds(form(10), LIMITS))).to.equal(undefined);
    expect(code(() => checkFormBounds(form(11), LIMITS))).to.equal('JSON_TOO_LARGE: too many form fields');
  });

  it('refuses a command line longer than max_command_size before splitting it, and takes one exactly that long', () => {
    expect(code(() => parseCommand(Buffer.from('registered_users localhost'), 256, 26))).to.equal(undefined);
    expect(code(() => parseCommand(Buffer.from('registered_users localhost'), 256, 25))).to.equal('COMMAND_TOO_LONG: COMMAND_TOO_LONG');
  });
});
