// SPDX-License-Identifier: GPL-2.0-or-later
// Side by side with the original contrib module (Debian's ejabberd-mod-rest, `make original`):
// the same configuration and requests, each case answering alike or fixed as listed.
import { expect } from 'chai';
import { compare, SETUPS, type Row } from '../../scripts/compare-original';
import { target } from '../../scripts/sandbox';
import { recordAnswer } from './answers';

describe('ours beside the original mod_rest, on the same configuration', function () {
  this.timeout(120_000);
  const rows = new Map<string, Row>();

  before(async function () {
    // The original is Debian 12's ejabberd-mod-rest, a beam built for the host's ejabberd 23.01
    // only: on a version-matrix chroot there is nothing to compare with.
    if (!target.isHost) this.skip();
    for (const row of await compare()) {
      rows.set(`${row.setup}/${row.name}`, row);
      const c = SETUPS.find((s) => s.name === row.setup)?.cases.find((x) => x.name === row.name);
      // Ours only: the original's answers are not this module's.
      if (c) recordAnswer({ method: c.method ?? 'POST', path: c.path ?? '/rest', status: row.ours.status, contentType: row.ours.contentType, via: 'compare' });
    }
  });

  for (const setup of SETUPS) {
    for (const c of setup.cases) {
      const verdict = c.expect === 'same' ? 'answers as the original' : `fixes defect ${c.expect.defect}`;
      it(`[${setup.name}] ${c.name}: ${verdict}`, () => {
        const row = rows.get(`${setup.name}/${c.name}`)!;
        expect(row, 'case was run').to.not.equal(undefined);
        if (c.expect === 'same') {
          expect({ status: row.ours.status, body: row.ours.body }).to.deep.equal({ status: row.original.status, body: row.original.body });
        } else {
          expect(row.ours.status).to.equal(c.expect.status);
          if (c.expect.body !== undefined) expect(row.ours.body).to.equal(c.expect.body);
          expect([row.ours.status, row.ours.body]).to.not.deep.equal([row.original.status, row.original.body]);
        }
        expect(row.ours.contentType).to.equal('text/plain; charset=utf-8');
      });
    }
  }
});
