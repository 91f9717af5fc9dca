// SPDX-License-Identifier: GPL-2.0-or-later
// What the bench scripts share: one wrk run (its Lua script prints a RESULT line of JSON) and the
// CPU time processes have used, read from /proc.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface WrkResult {
  requests: number;
  duration_us: number;
  non2xx: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
}

/** wrk against url for `seconds`, with at most two threads, the Lua script given its args. */
export async function wrk(url: string, connections: number, seconds: number, script: string, args: string[]): Promise<WrkResult> {
  const { stdout } = await run(
    'wrk',
    [`-t${Math.min(2, connections)}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url, '--', ...args],
    { maxBuffer: 1 << 20 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as WrkResult;
}

/** CPU time (user + system) the processes have used so far, in microseconds; a gone one counts 0. */
export function cpuMicros(pids: ReadonlyArray<number | undefined>): number {
  let total = 0;
  for (const pid of pids) {
    if (pid === undefined) continue;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
    } catch {
      // gone
    }
  }
  return total;
}
