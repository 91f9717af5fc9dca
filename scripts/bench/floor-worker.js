// SPDX-License-Identifier: GPL-2.0-or-later
// The I/O floor of the worker bench (scripts/bench-worker.ts): the worker's own frame loop and
// reply writer, answering every request {answer, 200, <<"Ok">>} without decoding or parsing it.
// What the real worker costs above this is its work proper. Only for requests the bench built:
// their id sits at a fixed offset, as an INTEGER_EXT.
const path = require('node:path');
const worker = path.join(__dirname, '..', '..', 'priv', 'worker');
const { PortIo } = require(path.join(worker, 'port', 'stdio.js'));
const { encodeFrame } = require(path.join(worker, 'port', 'etf-writer.js'));
const { atom, Tuple } = require(path.join(worker, 'port', 'etf.js'));

const ID_AT = 12; // 131, SMALL_TUPLE_EXT 3, SMALL_ATOM_UTF8_EXT 7 "request", then the id
const io = new PortIo();
io.write(encodeFrame(new Tuple(atom('hello'), 1)));
for (;;) {
  const frames = io.read();
  if (frames === null) break;
  const replies = [];
  for (const f of frames) {
    if (f.subarray(5, 12).toString('latin1') !== 'request' || f[ID_AT] !== 98) continue;
    replies.push(encodeFrame(new Tuple(atom('reply'), f.readInt32BE(ID_AT + 1), new Tuple(atom('answer'), 200, 'Ok'))));
  }
  if (replies.length > 0) io.write(Buffer.concat(replies));
}
