// SPDX-License-Identifier: GPL-2.0-or-later
// Two stripped builds of ours (issue 19), to split what an Idempotency-Key costs on the send path
// between the header itself and keeping an answer. Each is _build/mod_rest with one module
// changed, in _build/variants/<name>/mod_rest:
//   header-only  the key is read and checked, then the request is carried out as if it had none:
//                what the header costs (ejabberd's parse, ours) before anything is kept;
//   bare-ets     the least a key can keep, as the floor does: ets:insert_new of {Key, pending}
//                before, ets:insert of {Key, Answer} after, in a table of its own: no
//                fingerprint, scope, bound, expiry or cluster.
// Compare them with each other and with ours in one run (docs/benchmarks.md):
//   BENCH_BASELINE=_build/variants/header-only/mod_rest BENCH_ONLY=keyed npx tsx scripts/bench.ts
// A source line this script expects and does not find stops it: rewrite the patch, do not skip it.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../sandbox';

const SOURCE = path.join(ROOT, 'erl', 'mod_rest_idempotency.erl');
const STAGE = path.join(ROOT, '_build', 'mod_rest');
const KEYED = '{ok, Key} -> keyed(Key, fingerprint(<<"POST">>, LocalPath, Data), Context, Run);';
const INIT = 'ets:new(?ORDER, [named_table, public, ordered_set, {write_concurrency, true}]),';
const BARE_TABLE = 'mod_rest_idempotency_bare';

type Patch = [from: string, to: string];

const VARIANTS: Record<string, Patch[]> = {
  'header-only': [[KEYED, '{ok, _Key} -> answer_of(Run(Context));']],
  'bare-ets': [
    [KEYED, '{ok, Key} -> bare(Key, Context, Run);'],
    [INIT, `ets:new(${BARE_TABLE}, [named_table, public, set, {write_concurrency, true}]),\n    ${INIT}`],
    [
      '%% Header whitespace',
      `bare(Key, Context, Run) ->
    case ets:insert_new(${BARE_TABLE}, {Key, pending}) of
        false -> refuse(in_flight, Context);
        true ->
            Answer = answer_of(Run(Context)),
            ets:insert(${BARE_TABLE}, {Key, Answer}),
            Answer
    end.

%% Header whitespace`,
    ],
  ],
};

function patched(source: string, patches: Patch[], name: string): string {
  let text = source;
  for (const [from, to] of patches) {
    if (text.split(from).length !== 2) throw new Error(`${name}: expected exactly one "${from}" in ${SOURCE}`);
    text = text.replace(from, to);
  }
  // What the variant no longer calls stays compiled, unused.
  return text.replace('-module(mod_rest_idempotency).', '-module(mod_rest_idempotency).\n-compile(nowarn_unused_function).');
}

function ejabberdInclude(): string {
  const found = spawnSync('sh', ['-c', 'ls -d /usr/lib/*/ejabberd-*/include | head -1'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error("ejabberd's include directory not found (make deps installs ejabberd)");
  return found;
}

const source = readFileSync(SOURCE, 'utf8');
const include = ejabberdInclude();
for (const [name, patches] of Object.entries(VARIANTS)) {
  const tree = path.join(ROOT, '_build', 'variants', name, 'mod_rest');
  rmSync(path.dirname(tree), { recursive: true, force: true });
  mkdirSync(path.dirname(tree), { recursive: true });
  cpSync(STAGE, tree, { recursive: true });
  const file = path.join(path.dirname(tree), 'mod_rest_idempotency.erl');
  writeFileSync(file, patched(source, patches, name));
  const erlc = spawnSync('erlc', ['-o', path.join(tree, 'ebin'), '-I', include, file], { encoding: 'utf8' });
  if (erlc.status !== 0) throw new Error(`${name}: erlc failed\n${erlc.stdout}${erlc.stderr}`);
  console.log(`${name}: ${tree}`);
}
