// SPDX-License-Identifier: GPL-2.0-or-later
// allowed_ips: which peers may use the REST endpoint.
//
// IPv4-mapped IPv6 (RFC 4291 §2.5.5.2, "::ffff:a.b.c.d") and plain IPv4 are treated as the same
// address both ways, as ejabberd's misc:match_ip_mask/3 does: a dual-stack listener reports IPv4
// peers as mapped addresses, and an administrator may write either form in the configuration.

import ipaddr from 'ipaddr.js';

export type IpMatcher = (ip: string) => boolean;

type V4Range = [ipaddr.IPv4, number];
type V6Range = [ipaddr.IPv6, number];

/** ::ffff:0.0.0.0, the first IPv4-mapped address: a v6 range holding it (prefix < 96) holds them all. */
const MAPPED_BASE = ipaddr.IPv6.parse('::ffff:0.0.0.0');

/** Parse one configured entry; a bare address counts as a single-host range. Throws if invalid. */
function parseEntry(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const text = entry.trim();
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  const addr = ipaddr.parse(text);
  return [addr, addr instanceof ipaddr.IPv4 ? 32 : 128];
}

/**
 * Compile the allowed_ips list once into a per-request matcher. An empty list allows every peer.
 * Entries are expected valid (ejabberd validated them); one that does not parse is skipped and
 * reported through `onInvalid` (fail closed: it admits nothing, and the list still counts as
 * non-empty). Neither this function nor the matcher throws; a peer that does not parse matches nothing.
 */
export function compileIpPolicy(cidrs: readonly string[], onInvalid?: (entry: string) => void): IpMatcher {
  if (cidrs.length === 0) return () => true;

  const v4: V4Range[] = [];
  const v6: V6Range[] = [];
  let v6CoversAllV4 = false;

  for (const entry of cidrs) {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      parsed = parseEntry(entry);
    } catch {
      onInvalid?.(entry);
      continue;
    }
    const [addr, prefix] = parsed;
    if (addr instanceof ipaddr.IPv4) {
      v4.push([addr, prefix]);
    } else if (addr.isIPv4MappedAddress() && prefix >= 96) {
      // ::ffff:a.b.c.d/N is the IPv4 range a.b.c.d/(N-96).
      v4.push([addr.toIPv4Address(), prefix - 96]);
    } else {
      v6.push([addr, prefix]);
      // A wider v6 range (e.g. ::/0) that holds the whole mapped block admits every IPv4 peer too.
      if (MAPPED_BASE.match(addr, prefix)) v6CoversAllV4 = true;
    }
  }

  const decide = (ip: string): boolean => {
    let peer: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // process() un-maps ::ffff:a.b.c.d to IPv4; match() across kinds would throw.
      peer = ipaddr.process(ip);
    } catch {
      return false;
    }
    if (peer.kind() === 'ipv4') {
      if (v6CoversAllV4) return true;
      for (const [addr, prefix] of v4) if (peer.match(addr, prefix)) return true;
      return false;
    }
    for (const [addr, prefix] of v6) if (peer.match(addr, prefix)) return true;
    return false;
  };
  return remembering(decide);
}

/** Peers repeat: most calls come from a few addresses. Bounded, so no peer mix can grow it. */
const REMEMBERED_PEERS = 1024;

// Parsing the peer's address was the IP check's whole cost; the decision per address is kept
// until the policy is recompiled (on a configuration change).
function remembering(decide: IpMatcher): IpMatcher {
  const known = new Map<string, boolean>();
  return (ip: string): boolean => {
    let allowed = known.get(ip);
    if (allowed === undefined) {
      allowed = decide(ip);
      if (known.size >= REMEMBERED_PEERS) known.clear();
      known.set(ip, allowed);
    }
    return allowed;
  };
}
