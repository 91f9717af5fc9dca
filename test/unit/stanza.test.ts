// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { RestError } from '../../src/rest/errors.js';
import { MAX_XML_DEPTH, parseStanza } from '../../src/rest/stanza.js';

const parse = (xml: string | Buffer) => parseStanza(typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml, MAX_XML_DEPTH);

function rejection(fn: () => unknown): RestError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(RestError);
    const e = err as RestError;
    expect(e.code).to.equal('REJECTED');
    expect(e.status).to.equal(406);
    return e;
  }
  expect.fail('expected a REJECTED RestError');
}

describe('stanza: parseStanza', () => {
  it('keeps attributes in document order, xmlns as a plain attribute', () => {
    const el = parse("<message xmlns='jabber:client' to='b@localhost' from='a@localhost' type='chat' id='1'/>");
    expect(el).to.deep.equal({
      name: 'message',
      attrs: [
        ['xmlns', 'jabber:client'],
        ['to', 'b@localhost'],
        ['from', 'a@localhost'],
        ['type', 'chat'],
        ['id', '1'],
      ],
      children: [],
    });
  });

  it('keeps an attribute named __proto__ as an ordinary attribute', () => {
    expect(parse("<a __proto__='x' b='y'/>").attrs).to.deep.equal([
      ['__proto__', 'x'],
      ['b', 'y'],
    ]);
  });

  it('merges text, entities and CDATA into one string child', () => {
    const el = parse('<body>Hello &amp; <![CDATA[<world>]]>!</body>');
    expect(el.children).to.deep.equal(['Hello & <world>!']);
  });

  it('builds nested children, keeping whitespace text inside the element and dropping comments', () => {
    const el = parse("<message from='a@b'>\n  <body>hi<!-- note --> there</body>\n  <x xmlns='urn:x'><y/></x>\n</message>");
    expect(el.children).to.deep.equal([
      '\n  ',
      { name: 'body', attrs: [], children: ['hi there'] },
      '\n  ',
      { name: 'x', attrs: [['xmlns', 'urn:x']], children: [{ name: 'y', attrs: [], children: [] }] },
      '\n',
    ]);
  });

  it('accepts an XML declaration at the very start, leading whitespace and a BOM', () => {
    expect(parse("<?xml version='1.0' encoding='UTF-8'?><a/>").name).to.equal('a');
    expect(parse(' \r\n\t<a/>\n').name).to.equal('a');
    expect(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a/>')])).name).to.equal('a');
  });

  it('rejects an XML declaration that is not at the very start', () => {
    rejection(() => parse(" <?xml version='1.0'?><a/>"));
  });

  it('rejects a DOCTYPE', () => {
    expect(rejection(() => parse('<!DOCTYPE message><message/>')).reason).to.equal('doctype');
  });

  it('rejects a billion-laughs body quickly, without expanding anything', () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
      ']><lolz>&lol9;</lolz>';
    const started = Date.now();
    expect(rejection(() => parse(lol)).reason).to.equal('doctype');
    expect(Date.now() - started).to.be.below(200);
  });

  it('rejects an undefined entity reference', () => {
    expect(rejection(() => parse('<a>&lol9;</a>')).reason).to.equal('malformed xml');
  });

  it('rejects a processing instruction before the root', () => {
    expect(rejection(() => parse("<?php echo 1 ?><message from='a@b'/>")).reason).to.equal('processing instruction');
  });

  it('rejects a processing instruction inside the root', () => {
    expect(rejection(() => parse("<message from='a@b'><?pi data?></message>")).reason).to.equal('processing instruction');
  });

  it('rejects invalid UTF-8 instead of replacing it', () => {
    const body = Buffer.concat([Buffer.from('<a>'), Buffer.from([0xc3, 0x28]), Buffer.from('</a>')]);
    expect(rejection(() => parse(body)).reason).to.equal('invalid utf-8');
  });

  it('rejects 10,000 levels of nesting quickly and without a stack overflow', () => {
    const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
    const started = Date.now();
    expect(rejection(() => parse(deep)).reason).to.equal('too deep');
    expect(Date.now() - started).to.be.below(500);
  });

  it('accepts nesting exactly MAX_XML_DEPTH deep and rejects one more level', () => {
    const nest = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
    let el = parse(nest(MAX_XML_DEPTH));
    let depth = 1;
    while (el.children.length > 0) {
      el = el.children[0] as typeof el;
      depth++;
    }
    expect(depth).to.equal(MAX_XML_DEPTH);
    expect(rejection(() => parse(nest(MAX_XML_DEPTH + 1))).reason).to.equal('too deep');
  });

  it('honours a smaller depth limit passed by the caller', () => {
    expect(() => parseStanza(Buffer.from('<a><b/></a>'), 1)).to.throw(RestError);
    expect(parseStanza(Buffer.from('<a/>'), 1).name).to.equal('a');
  });

  it('parses each body afresh, whatever the one before it was (the parser is reused)', () => {
    const first = parse('<message from="a@b"><body>one</body></message>');
    for (const bad of ['<a><b></a>', '<?xml version="1.0"?><a/><b/>', '<a>', '<!DOCTYPE a><a/>', '<a/>junk', '<a x="1" x="2"/>']) {
      expect(() => parse(bad)).to.throw(RestError);
      const next = parse('<?xml version="1.0"?><iq id="2"><q/></iq>');
      expect(next).to.deep.equal({ name: 'iq', attrs: [['id', '2']], children: [{ name: 'q', attrs: [], children: [] }] });
    }
    expect(first.children).to.deep.equal([{ name: 'body', attrs: [], children: ['one'] }]);
  });

  it('rejects two root elements', () => {
    expect(rejection(() => parse('<a/><b/>')).reason).to.equal('multiple roots');
  });

  it('rejects non-whitespace text after the root', () => {
    expect(rejection(() => parse('<a/>junk')).reason).to.equal('text outside root');
  });

  it('rejects an unclosed tag', () => {
    rejection(() => parse("<message from='a@b'><body>hi</body>"));
  });

  it('rejects a bare ampersand', () => {
    rejection(() => parse('<a>fish & chips</a>'));
  });

  it('rejects mismatched tags and duplicate attributes', () => {
    rejection(() => parse('<a><b></a></b>'));
    rejection(() => parse("<a x='1' x='2'/>"));
  });

  it('rejects a body with no root element', () => {
    expect(rejection(() => parse('   ')).reason).to.equal('no root');
    expect(rejection(() => parse('')).reason).to.equal('no root');
  });
});
