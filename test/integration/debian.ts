// SPDX-License-Identifier: GPL-2.0-or-later
// Debian tools a suite drives for real (chromium, haproxy, nginx): installed when missing, as
// `make deps` installs ejabberd, so that a second run costs one `command -v`.
import { execFileSync } from 'node:child_process';

/** Installs Debian package `pkg` (as root, or through sudo) unless `program` is already on PATH. */
export function ensureDebianTool(program: string, pkg = program): void {
  if (onPath(program)) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]) => execFileSync(sudo[0] ?? args[0]!, sudo.length ? args : args.slice(1), {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
  });
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', pkg]);
  if (!onPath(program)) throw new Error(`${pkg} installed, but ${program} is not on PATH`);
}

function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    return true;
  } catch {
    return false;
  }
}
