// SPDX-License-Identifier: GPL-2.0-or-later
// XmlElement to text, as ejabberd's fxml writes it: attributes in order, single quotes, the
// five predefined entities escaped (XML 1.0 §2.4), empty elements self-closed.
import type { XmlElement, XmlNode } from './types.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>'"]/g, (c) => ESCAPES[c]!);
}

export function writeXml(node: XmlNode): string {
  if (typeof node === 'string') return escapeXml(node);
  const attrs = node.attrs.map(([name, value]) => ` ${name}='${escapeXml(value)}'`).join('');
  if (node.children.length === 0) return `<${node.name}${attrs}/>`;
  return `<${node.name}${attrs}>${node.children.map(writeXml).join('')}</${node.name}>`;
}

/** A new element; attributes whose value is undefined are left out. */
export function el(name: string, attrs: Record<string, string | undefined> = {}, children: XmlNode[] = []): XmlElement {
  const list: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) list.push([key, value]);
  return { name, attrs: list, children };
}

export function attr(node: XmlElement, name: string): string | undefined {
  for (const [key, value] of node.attrs) if (key === name) return value;
  return undefined;
}

export function childElements(node: XmlElement): XmlElement[] {
  return node.children.filter((c): c is XmlElement => typeof c !== 'string');
}

/** The first child element named `name` (in namespace `ns`, when given). */
export function child(node: XmlElement, name: string, ns?: string): XmlElement | undefined {
  return childElements(node).find((c) => c.name === name && (ns === undefined || attr(c, 'xmlns') === ns));
}

export function textOf(node: XmlElement): string {
  return node.children.filter((c): c is string => typeof c === 'string').join('');
}

export function childText(node: XmlElement, name: string, ns?: string): string | undefined {
  const found = child(node, name, ns);
  return found === undefined ? undefined : textOf(found);
}
