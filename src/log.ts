// SPDX-License-Identifier: GPL-2.0-or-later
// Worker logging: pino, never on stdout (stdout carries frames only). Lines go to ejabberd's own
// log as {log, Level, Line} frames once the port is up; before that, and after it closes, to stderr.
import pino from 'pino';
import type { LogLevel } from './port/protocol.js';
import { RestError } from './rest/errors.js';

export type LogSink = (level: LogLevel, line: string) => void;

let sink: LogSink | null = null;

/** Points the logger at the port (or back at stderr with null). */
export function setLogSink(next: LogSink | null): void {
  sink = next;
}

const PINO_TO_EJABBERD: Record<number, LogLevel> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'error' };

/** Formats pino's JSON line as ejabberd logs read: the message, then key=value pairs. */
function formatLine(json: string): { level: LogLevel; line: string } {
  const { level, msg, ...fields } = JSON.parse(json) as { level: number; msg?: string } & Record<string, unknown>;
  const pairs = Object.entries(fields).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return { level: PINO_TO_EJABBERD[level] ?? 'info', line: [msg ?? '', ...pairs].join(' ').trim() };
}

const destination = {
  write(json: string): void {
    const { level, line } = formatLine(json);
    if (sink) sink(level, line);
    else process.stderr.write(`mod_rest worker ${level}: ${line}\n`);
  },
};

export const log = pino(
  {
    level: 'info',
    base: null,
    timestamp: false,
    // Belt and braces: the code never logs credentials, and these paths would be censored if it did.
    redact: { paths: ['password', 'auth.password', '*.password', 'args', '*.args'], censor: '[redacted]' },
  },
  destination,
);

const EJABBERD_TO_PINO: Record<LogLevel, pino.Level> = { debug: 'debug', info: 'info', warning: 'warn', error: 'error' };

export function setLogLevel(level: LogLevel): void {
  log.level = EJABBERD_TO_PINO[level];
}

/** Expected refusals are debug noise; anything else that became an answer is a bug worth seeing. */
export function logRefusal(err: unknown): void {
  if (err instanceof RestError) log.debug({ code: err.code, reason: err.reason }, 'request refused');
  else log.error({ err: err instanceof Error ? err.stack : String(err) }, 'request failed in the worker');
}
