// SPDX-License-Identifier: GPL-2.0-or-later
// Every answer the integration tests get from mod_rest, recorded (method, path, status, media
// type) by the request helpers (support.ts post(), raw-http.ts, the original-comparison rows),
// so that one check at the end of the run holds them all against GET /rest/openapi.json
// (openapi-conformance.ts). Recording never throws and never touches the answer it records.
// The records are kept in memory for the check and appended, one JSON object a line, to
// $MOD_REST_ANSWERS (default: a file per mocha run under the temporary directory).
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openApiDocument } from '../../src/rest/openapi';
import { undescribed } from './openapi-conformance';

export interface RecordedAnswer {
  method: string;
  /** The request path as sent, query string included (e.g. /rest/archive/a@b?max=5). */
  path: string;
  status: number;
  /** The Content-Type header of the answer; absent when it had none. */
  contentType?: string;
  /** Which helper saw it. */
  via: 'post' | 'raw' | 'compare';
}

export const ANSWERS_FILE = process.env.MOD_REST_ANSWERS ?? path.join(os.tmpdir(), `mod_rest-answers-${process.pid}.jsonl`);

const answers: RecordedAnswer[] = [];
let fileFailed = false;

export function recordAnswer(answer: RecordedAnswer): void {
  try {
    const record: RecordedAnswer = { ...answer };
    if (record.contentType === undefined || record.contentType === '') delete record.contentType;
    answers.push(record);
    if (!fileFailed) appendFileSync(ANSWERS_FILE, `${JSON.stringify(record)}\n`);
  } catch (err) {
    if (!fileFailed) process.stderr.write(`answers.ts: not writing ${ANSWERS_FILE} (${String(err)}); the records stay in memory\n`);
    fileFailed = true;
  }
}

export function recordedAnswers(): readonly RecordedAnswer[] {
  return answers;
}

/**
 * The first answer of a raw exchange (status line and Content-Type), for the request whose first
 * line is at the start of `request`; undefined when either does not parse.
 */
export function recordRawExchange(request: string | Buffer, reply: string): void {
  try {
    recordFirstAnswer(request, reply);
  } catch {
    // A record lost, never an answer.
  }
}

function recordFirstAnswer(request: string | Buffer, reply: string): void {
  const line = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(request.toString('latin1'));
  const head = reply.split('\r\n\r\n', 1)[0] ?? '';
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!line || !status) return;
  const contentType = /\r\ncontent-type:[ \t]*([^\r\n]*)/i.exec(head)?.[1]?.trim();
  recordAnswer({ method: line[1]!, path: line[2]!, status: Number(status[1]), contentType, via: 'raw' });
}

// One root hook, registered by whichever integration test file loads this module first (every
// request helper does), so that it runs once, after all the files of the run, or after the one.
if (typeof after === 'function') {
  after('every answer the integration tests got is one GET /rest/openapi.json describes', function () {
    const doc = JSON.parse(String(openApiDocument().body));
    const problems = undescribed(doc, answers);
    if (problems.length > 0) {
      throw new Error(`${problems.length} kinds of answer (of ${answers.length} answers, in ${ANSWERS_FILE}) that the OpenAPI document does not describe:\n${problems.join('\n')}`);
    }
  });
}
