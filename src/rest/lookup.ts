// SPDX-License-Identifier: GPL-2.0-or-later
// Tables that request data indexes (a JSON key, a form field, a path segment, a media type):
// without a prototype, so that `constructor`, `toString`, `hasOwnProperty` or `__proto__` find
// nothing instead of Object.prototype's members (security issue 16, item 9).

/** A frozen copy of `entries` with no prototype: `key in t` and `t[key]` see only its own keys. */
export function lookupTable<T>(entries: Readonly<Record<string, T>>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

/** An empty object with no prototype, for fields named by request data (a form, a query string). */
export function fieldBag<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
