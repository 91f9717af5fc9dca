// SPDX-License-Identifier: GPL-2.0-or-later
// The design floor's worker (mod_rest.erl beside it): every frame back as it came, unread, with
// the real worker's own frame loop (priv/worker/port/stdio.js), all that one read brought in
// one write. Installed as priv/worker/main.js of the floor's module tree.
const path = require('node:path');
const { PortIo } = require(path.join(__dirname, 'port', 'stdio.js'));
const { frame } = require(path.join(__dirname, 'port', 'framing.js'));

const io = new PortIo();
for (;;) {
  const frames = io.read();
  if (frames === null) break;
  if (frames.length > 0) io.write(Buffer.concat(frames.map(frame)));
}
