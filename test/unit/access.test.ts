// SPDX-License-Identifier: GPL-2.0-or-later
import { expect } from 'chai';
import { compileIpPolicy } from '../../src/rest/access.js';

describe('access: allowed_ips', () => {
  it('allows every peer when the list is empty', () => {
    const allowed = compileIpPolicy([]);
    expect(allowed('127.0.0.1')).to.equal(true);
    expect(allowed('2001:db8::1')).to.equal(true);
  });

  it('matches an exact IPv4 entry and nothing next to it', () => {
    const allowed = compileIpPolicy(['127.0.0.1/32']);
    expect(allowed('127.0.0.1')).to.equal(true);
    expect(allowed('127.0.0.2')).to.equal(false);
  });

  it('matches every address inside an IPv4 CIDR range', () => {
    const allowed = compileIpPolicy(['10.0.0.0/8']);
    expect(allowed('10.0.0.1')).to.equal(true);
    expect(allowed('10.255.255.254')).to.equal(true);
    expect(allowed('11.0.0.1')).to.equal(false);
  });

  it('matches IPv6 entries, exact and ranged', () => {
    const allowed = compileIpPolicy(['::1/128', '2001:db8::/32']);
    expect(allowed('::1')).to.equal(true);
    expect(allowed('2001:db8:1234::5')).to.equal(true);
    expect(allowed('2001:db9::1')).to.equal(false);
    expect(allowed('127.0.0.1')).to.equal(false);
  });

  it('lets an IPv4-mapped IPv6 peer match an IPv4 entry', () => {
    const allowed = compileIpPolicy(['127.0.0.1/32', '10.0.0.0/8']);
    expect(allowed('::ffff:127.0.0.1')).to.equal(true);
    expect(allowed('::ffff:10.1.2.3')).to.equal(true);
    expect(allowed('::ffff:192.168.0.1')).to.equal(false);
  });

  it('lets an IPv4-mapped IPv6 entry match a plain IPv4 peer', () => {
    const allowed = compileIpPolicy(['::ffff:127.0.0.1/128', '::ffff:10.0.0.0/104']);
    expect(allowed('127.0.0.1')).to.equal(true);
    expect(allowed('10.9.8.7')).to.equal(true);
    expect(allowed('::ffff:127.0.0.1')).to.equal(true);
    expect(allowed('127.0.0.2')).to.equal(false);
  });

  it('lets an IPv6 range that holds the whole mapped block admit IPv4 peers', () => {
    const allowed = compileIpPolicy(['::/0']);
    expect(allowed('192.0.2.1')).to.equal(true);
    expect(allowed('2001:db8::1')).to.equal(true);
  });

  it('does not let an unrelated IPv6 range admit IPv4 peers', () => {
    expect(compileIpPolicy(['2001:db8::/32'])('192.0.2.1')).to.equal(false);
  });

  it('matches nothing, without throwing, when the peer address does not parse', () => {
    const allowed = compileIpPolicy(['0.0.0.0/0', '::/0']);
    for (const peer of ['garbage', '', '300.1.1.1', '::ffff:zz', '1.2.3.4/8']) {
      expect(allowed(peer), peer).to.equal(false);
    }
  });

  it('accepts a bare address as a single-host entry', () => {
    const allowed = compileIpPolicy(['192.0.2.7']);
    expect(allowed('192.0.2.7')).to.equal(true);
    expect(allowed('192.0.2.8')).to.equal(false);
  });

  it('skips an invalid entry, reports it and fails closed', () => {
    const invalid: string[] = [];
    const allowed = compileIpPolicy(['not-an-ip'], (e) => invalid.push(e));
    expect(invalid).to.deep.equal(['not-an-ip']);
    expect(allowed('127.0.0.1')).to.equal(false);
  });

  it('gives the same decisions when asked again, also after more peers than it remembers', () => {
    const allowed = compileIpPolicy(['10.0.0.0/24', '::1']);
    const peers = Array.from({ length: 3000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    for (let pass = 0; pass < 2; pass++) {
      for (const [i, peer] of peers.entries()) expect(allowed(peer), peer).to.equal(i < 256);
      expect(allowed('::1')).to.equal(true);
      expect(allowed('::2')).to.equal(false);
    }
  });
});
