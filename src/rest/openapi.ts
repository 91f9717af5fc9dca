// SPDX-License-Identifier: GPL-2.0-or-later
// GET /rest/openapi.json: an OpenAPI 3.1 description of the whole handler, the original protocol
// included. Built once, at first use, from the catalogue, so that the statuses it lists are the
// ones the code answers.
import { CATALOGUE } from './errors.js';
import type { Action } from './types.js';

let cached: Extract<Action, { kind: 'document' }> | undefined;

export function openApiDocument(): Extract<Action, { kind: 'document' }> {
  cached ??= { kind: 'document', status: 200, headers: [], contentType: 'application/json', body: JSON.stringify(describe()) };
  return cached;
}

function describe(): object {
  const statuses = [...new Set(Object.values(CATALOGUE).map((e) => e.status))].sort();
  return {
    openapi: '3.1.0',
    info: { title: 'mod_rest', version: '1' },
    paths: {},
    'x-statuses': statuses,
  };
}
