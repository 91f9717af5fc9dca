// SPDX-License-Identifier: GPL-2.0-or-later
// JIDs for allowed_destinations (RFC 7622). This is not full PRECIS/stringprep: NFKC plus lower
// case on localpart and domainpart is enough to compare a stanza's `to` with entries that ejabberd
// already normalised with jid:tolower/1. The original compared raw strings (resource and case
// included, a known defect); here a bare entry admits every resource and case does not matter.
// A trailing dot is kept, as ejabberd keeps it when it routes: `localhost.` is another domain.

export interface NormalisedJid {
  /** "node@domain" or "domain", normalised. */
  bare: string;
  /** bare + "/" + resource when there is a resource, else equal to bare. */
  full: string;
}

export type JidMatcher = (jid: string) => boolean;

const lower = (s: string): string => s.normalize('NFKC').toLowerCase();

/** Split and normalise a JID; null when it has an empty domain, node (before '@') or resource (after '/'). */
export function normaliseJid(s: string): NormalisedJid | null {
  const slash = s.indexOf('/');
  const bareRaw = slash === -1 ? s : s.slice(0, slash);
  const resourceRaw = slash === -1 ? null : s.slice(slash + 1);
  const at = bareRaw.indexOf('@');
  const nodeRaw = at === -1 ? null : bareRaw.slice(0, at);
  const domain = lower(at === -1 ? bareRaw : bareRaw.slice(at + 1));

  const node = nodeRaw === null ? null : lower(nodeRaw);
  const resource = resourceRaw === null ? null : resourceRaw.normalize('NFKC');

  if (domain === '' || node === '' || resource === '') return null;
  // NFKC may turn look-alikes (U+FF20, U+FF0F) into '@' or '/': such a JID is invalid, not a match.
  if (/[@/]/.test(domain) || (node !== null && /[@/]/.test(node))) return null;

  const bare = node === null ? domain : `${node}@${domain}`;
  return { bare, full: resource === null ? bare : `${bare}/${resource}` };
}

/**
 * Compile a list of JIDs (allowed_destinations, allowed_senders) into a matcher. An entry with a
 * resource admits exactly that full JID; an entry without one (user@host or host) admits the bare
 * JID and every resource of it. An invalid entry (ejabberd should have refused it) is skipped and
 * reported through `onInvalid`: it admits nothing, and the list still counts as non-empty.
 */
export function compileJidPolicy(entries: readonly string[], onInvalid?: (entry: string) => void): JidMatcher {
  const bares = new Set<string>();
  const fulls = new Set<string>();
  for (const entry of entries) {
    const jid = normaliseJid(entry);
    if (jid === null) {
      onInvalid?.(entry);
      continue;
    }
    if (jid.full === jid.bare) bares.add(jid.bare);
    else fulls.add(jid.full);
  }

  return (candidate: string): boolean => {
    const jid = normaliseJid(candidate);
    if (jid === null) return false;
    return bares.has(jid.bare) || (jid.full !== jid.bare && fulls.has(jid.full));
  };
}
