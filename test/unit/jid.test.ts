// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { compileJidPolicy, normaliseJid } from '../../src/rest/jid.js';

describe('jid: normaliseJid', () => {
  it('lower-cases node and domain but keeps the case of the resource', () => {
    expect(normaliseJid('Nolan@LocalHost/Phone')).to.deep.equal({
      bare: 'nolan@localhost',
      full: 'nolan@localhost/Phone',
    });
  });

  it('gives a JID without resource equal bare and full forms', () => {
    expect(normaliseJid('user@host')).to.deep.equal({ bare: 'user@host', full: 'user@host' });
    expect(normaliseJid('Host.Example')).to.deep.equal({ bare: 'host.example', full: 'host.example' });
  });

  it('takes everything after the first slash as the resource, @ and / included', () => {
    expect(normaliseJid('a@b/c@d/e')).to.deep.equal({ bare: 'a@b', full: 'a@b/c@d/e' });
  });

  it('applies NFKC before lower-casing', () => {
    // U+FF2E FULLWIDTH N, U+212B ANGSTROM SIGN
    expect(normaliseJid('\uFF2Eolan@localhost')?.bare).to.equal('nolan@localhost');
    expect(normaliseJid('\u212B@localhost')?.bare).to.equal('\u00E5@localhost');
  });

  it('keeps a trailing dot: ejabberd routes localhost. as a domain of its own', () => {
    expect(normaliseJid('user@localhost./r')).to.deep.equal({ bare: 'user@localhost.', full: 'user@localhost./r' });
  });

  it('refuses an empty domain, node or resource', () => {
    for (const bad of ['', '@host', 'user@', 'user@host/', '/res']) {
      expect(normaliseJid(bad), JSON.stringify(bad)).to.equal(null);
    }
  });
});

describe('jid: compileJidPolicy', () => {
  it('admits nobody when the list is empty (the callers decide what an empty option means)', () => {
    expect(compileJidPolicy([])('anyone@anywhere/x')).to.equal(false);
  });

  it('lets a bare entry admit the bare JID and every resource, whatever the case', () => {
    const allowed = compileJidPolicy(['nolan@localhost']);
    expect(allowed('nolan@localhost')).to.equal(true);
    expect(allowed('Nolan@LocalHost/Phone')).to.equal(true);
    expect(allowed('nolan@localhost./laptop'), 'ejabberd routes localhost. as another domain').to.equal(false);
    expect(allowed('other@localhost')).to.equal(false);
    expect(allowed('localhost')).to.equal(false);
  });

  it('lets a domain entry admit the domain and its resources but not its users', () => {
    const allowed = compileJidPolicy(['localhost']);
    expect(allowed('LOCALHOST')).to.equal(true);
    expect(allowed('localhost/service')).to.equal(true);
    expect(allowed('nolan@localhost')).to.equal(false);
  });

  it('lets an entry with a resource admit exactly that full JID, resource case included', () => {
    const allowed = compileJidPolicy(['bot@localhost/res']);
    expect(allowed('BOT@localhost/res')).to.equal(true);
    expect(allowed('bot@localhost/Res')).to.equal(false);
    expect(allowed('bot@localhost/other')).to.equal(false);
    expect(allowed('bot@localhost')).to.equal(false);
  });

  it('normalises the entries as well as the destinations', () => {
    expect(compileJidPolicy(['Nolan@LocalHost'])('nolan@localhost/x')).to.equal(true);
  });

  it('refuses a destination that is not a valid JID', () => {
    const allowed = compileJidPolicy(['nolan@localhost']);
    expect(allowed('@localhost')).to.equal(false);
    expect(allowed('nolan@localhost/')).to.equal(false);
    expect(allowed('')).to.equal(false);
  });

  it('skips an invalid entry, reports it and fails closed', () => {
    const invalid: string[] = [];
    const allowed = compileJidPolicy(['@host'], (e) => invalid.push(e));
    expect(invalid).to.deep.equal(['@host']);
    expect(allowed('host')).to.equal(false);
  });
});
