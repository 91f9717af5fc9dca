// SPDX-License-Identifier: GPL-2.0-or-later
// Whether an answer is one GET /rest/openapi.json describes: its path under /rest matches a path
// of the document (a concrete one before a templated one, as OpenAPI 3.1 §4.8.8 has it), the
// method an operation of it, the status one of the operation's responses, and the media type
// one of that response's (none when the response has no content). A method OpenAPI cannot name
// (an extension method) is held against the path's "any other method" operations. Path
// parameter values are not checked against their schemas: an unknown payload's 404 is a
// declared answer of GET /{payload}/{to}.
import { METHODS, type Method, type OpenApiDocument, type OperationObject, type PathItem } from '../../src/rest/openapi';
import type { RecordedAnswer } from './answers';

/** Where the handler is mounted: the document's one server. */
const MOUNT = '/rest';

type Response = { description: string; content?: Record<string, unknown> };

/** type/subtype, lowercased, without parameters. */
function essence(mediaType: string): string {
  return mediaType.split(';')[0]!.trim().toLowerCase();
}

function segments(template: string): string[] {
  return template === '/' ? [] : template.slice(1).split('/');
}

/** The path item a request path falls under, and its template; undefined when none. */
function pathItemOf(doc: OpenApiDocument, requestPath: string): [string, PathItem] | undefined {
  const pathname = new URL(requestPath, 'http://localhost').pathname;
  if (pathname !== MOUNT && !pathname.startsWith(`${MOUNT}/`)) return undefined;
  const rest = pathname.slice(MOUNT.length).replace(/\/$/, '');
  const parts = rest === '' ? [] : rest.slice(1).split('/').map((p) => decodeURIComponent(p));
  let best: [string, PathItem, number] | undefined;
  for (const [template, item] of Object.entries(doc.paths)) {
    const t = segments(template);
    if (t.length !== parts.length) continue;
    let literals = 0;
    const fits = t.every((seg, i) => {
      if (/^\{[^}]+\}$/.test(seg)) return parts[i] !== '';
      literals++;
      return seg === parts[i];
    });
    if (fits && (!best || literals > best[2])) best = [template, item, literals];
  }
  return best && [best[0], best[1]];
}

function resolve(doc: OpenApiDocument, r: unknown): Response {
  const ref = (r as { $ref?: string }).$ref;
  if (ref === undefined) return r as Response;
  const name = ref.replace('#/components/responses/', '');
  const found = doc.components.responses[name];
  if (!found) throw new Error(`unresolved $ref ${ref}`);
  return found;
}

/** Why the document does not describe an answer; undefined when it does. */
export function mismatch(doc: OpenApiDocument, a: RecordedAnswer): string | undefined {
  const found = pathItemOf(doc, a.path);
  if (!found) return 'no path of the document';
  const [template, item] = found;
  const method = a.method.toLowerCase();
  const operations: OperationObject[] = (METHODS as readonly string[]).includes(method)
    ? [item[method as Method]].filter((o): o is OperationObject => o !== undefined)
    : METHODS.map((m) => item[m]).filter((o): o is OperationObject => o !== undefined && o.tags.includes('other'));
  if (operations.length === 0) return `no operation for ${a.method} ${template}`;
  const where = `${a.method} ${template}`;
  const responses = operations.flatMap((op) => {
    const r = op.responses[String(a.status)] ?? op.responses[`${String(a.status)[0]}XX`];
    return r === undefined ? [] : [resolve(doc, r)];
  });
  if (responses.length === 0) return `${where} declares no ${a.status}`;
  const declared = responses.flatMap((r) => Object.keys(r.content ?? {}).map(essence));
  if (a.contentType === undefined) {
    return responses.some((r) => Object.keys(r.content ?? {}).length === 0) ? undefined : `${where} ${a.status} declares a body (${declared.join(', ')}), the answer had no Content-Type`;
  }
  if (declared.includes(essence(a.contentType))) return undefined;
  return `${where} ${a.status} declares ${declared.join(', ') || 'no body'}, not ${a.contentType}`;
}

/** The answers the document does not describe, each once with how often it came and why. */
export function undescribed(doc: OpenApiDocument, answers: readonly RecordedAnswer[]): string[] {
  const seen = new Map<string, number>();
  for (const a of answers) {
    const why = mismatch(doc, a);
    if (why === undefined) continue;
    const line = `${a.method} ${a.path.slice(0, 120)} -> ${a.status} ${a.contentType ?? '(no Content-Type)'}: ${why}`;
    seen.set(line, (seen.get(line) ?? 0) + 1);
  }
  return [...seen].map(([line, n]) => (n > 1 ? `${line} (${n} times)` : line));
}
