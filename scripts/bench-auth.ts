// SPDX-License-Identifier: GPL-2.0-or-later
// How long a refused --auth takes for a wrong password and for an unknown user, with SCRAM
// password storage (where checking a password costs a PBKDF2 run): the two must not tell an
// attacker which accounts exist. Alternated requests, medians and their ratio; part of `make bench`.
import path from 'node:path';
import { median } from './bench/stats';
import { freePort, Sandbox } from './sandbox';

const ATTEMPTS = Number(process.env.BENCH_AUTH_ATTEMPTS ?? 60);

async function timedPost(url: string, body: string): Promise<[number, number]> {
  const started = process.hrtime.bigint();
  const res = await fetch(url, { method: 'POST', body });
  await res.text();
  return [res.status, Number(process.hrtime.bigint() - started) / 1e6];
}


export async function benchAuthTiming(base: string): Promise<void> {
  const sandbox = new Sandbox({
    dir: path.join(base, 'auth-timing'),
    c2sPort: await freePort(),
    httpPort: await freePort(),
    users: [['admin', 'the-right-password']],
    modRest: { max_auth_failures: 100_000 },
    config: { auth_password_format: 'scram', loglevel: 'warning' },
  });
  await sandbox.start();
  try {
    const wrong: number[] = [];
    const unknown: number[] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < ATTEMPTS; i++) {
      // Alternated, so that drift in the machine's load hits both alike.
      const pair: Array<[number[], string]> = [
        [wrong, `--auth admin localhost wrong-${i} registered_users localhost`],
        [unknown, `--auth nobody${i} localhost wrong-${i} registered_users localhost`],
      ];
      for (const [samples, body] of i % 2 === 0 ? pair : pair.reverse()) {
        const [status, ms] = await timedPost(sandbox.restUrl, body);
        statuses.add(status);
        samples.push(ms);
      }
    }
    const w = median(wrong);
    const u = median(unknown);
    console.log(`## refused --auth with SCRAM storage, ${ATTEMPTS} of each, alternated`);
    console.log(`  wrong password p50 ${w.toFixed(2)} ms; unknown user p50 ${u.toFixed(2)} ms; ratio unknown/wrong ${(u / w).toFixed(2)}; statuses ${[...statuses].join(',')}\n`);
  } finally {
    await sandbox.stop();
  }
}

if (require.main === module) {
  benchAuthTiming(require('node:fs').mkdtempSync(path.join(require('node:os').tmpdir(), 'mod_rest-bench-auth-'))).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
