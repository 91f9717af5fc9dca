// SPDX-License-Identifier: GPL-2.0-or-later
// An ejabberdctl command line from an HTTP body, split the way the original mod_rest split it
// (compatibility: scripts written for it keep working), with two deliberate differences:
//   1. Separators are space, tab, CR and LF; the original split on the space character only, so a
//      body ending in "\n" (curl --data-binary @file, heredocs) got the newline glued to its last word.
//   2. An empty quoted argument `""` is an empty-string argument; the original dropped it silently,
//      shifting every argument after it into the wrong place.

import { badAuthSyntax, badUtf8Command, commandTooLong, emptyCommand, jsonWithoutType, tooManyArguments } from './errors.js';
import type { Action } from './types.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** ejabberd's commands take at most a dozen arguments; --auth adds four. */
export const MAX_COMMAND_ARGS = 256;
/** Longest command line (option max_command_size, checked first in the VM): ejabberd's commands never need megabytes. */
export const MAX_COMMAND_SIZE = 256 * 1024;

const isSeparator = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * Split a command line into arguments.
 * - Outside quotes, runs of separators separate arguments.
 * - A `"` or `\"` at the start of an argument opens a quoted argument. It ends at the first `"` or
 *   `\"` immediately followed by a separator or the end of the line; that closing quote is dropped.
 *   Inside, everything is literal: separators and other `"`.
 * - An unterminated quoted argument runs to the end of the line; a lone opening quote at the very
 *   end of the line yields no argument.
 * - A `"` inside an unquoted argument is an ordinary character.
 */
export function splitCommandLine(line: string, maxWords = Infinity): string[] {
  const args: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSeparator(line[i])) i++;
    if (i >= n) break;
    if (args.length >= maxWords) throw tooManyArguments(); // splitting stops here, however long the line

    const open = line[i] === '"' ? 1 : line[i] === '\\' && line[i + 1] === '"' ? 2 : 0;
    if (open === 0) {
      const start = i;
      while (i < n && !isSeparator(line[i])) i++;
      args.push(line.slice(start, i));
      continue;
    }

    const start = i + open;
    if (start >= n) break; // a lone quote at the very end: nothing to quote
    let end = -1;
    let close = 0;
    for (let j = start; j < n; j++) {
      if (line[j] === '"' && (j + 1 === n || isSeparator(line[j + 1]))) {
        end = j;
        close = 1;
        break;
      }
      if (line[j] === '\\' && line[j + 1] === '"' && (j + 2 === n || isSeparator(line[j + 2]))) {
        end = j;
        close = 2;
        break;
      }
    }
    if (end === -1) {
      args.push(line.slice(start));
      break;
    }
    args.push(line.slice(start, end));
    i = end + close;
  }
  return args;
}

/**
 * Turn a command body into a command action: `[--auth USER HOST PASSWORD] COMMAND [ARG...]`.
 * Throws a RestError (COMMAND_TOO_LONG, BAD_UTF8_COMMAND, EMPTY_COMMAND or BAD_AUTH_SYNTAX).
 */
export function parseCommand(body: Buffer, maxArgs = MAX_COMMAND_ARGS, maxSize = MAX_COMMAND_SIZE): Action {
  if (body.length > maxSize) throw commandTooLong();
  let line: string;
  try {
    line = UTF8.decode(body); // also drops a leading BOM
  } catch (cause) {
    throw badUtf8Command(cause);
  }

  if (/^\s*[{[]/.test(line)) throw jsonWithoutType();
  // The name, and --auth USER HOST PASSWORD, are words beyond the arguments.
  const words = splitCommandLine(line, maxArgs + 5);
  if (words.length > maxArgs + (words[0] === '--auth' ? 5 : 1)) throw tooManyArguments();
  if (words.length === 0) throw emptyCommand();

  if (words[0] === '--auth') {
    const [, user, server, password, name, ...args] = words;
    if (user === undefined || server === undefined || password === undefined || name === undefined) {
      throw badAuthSyntax();
    }
    if (name === '') throw emptyCommand();
    return { kind: 'command', name, args, auth: { user, server, password } };
  }

  const [name, ...args] = words as [string, ...string[]];
  if (name === '') throw emptyCommand();
  return { kind: 'command', name, args, auth: null };
}
