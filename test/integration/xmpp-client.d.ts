// SPDX-License-Identifier: GPL-2.0-or-later
// The little of @xmpp/client 0.14 (which ships no types) that the integration tests use.
declare module '@xmpp/client' {
  export interface Element {
    name: string;
    attrs: Record<string, string>;
    children: Array<Element | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildText(name: string, xmlns?: string): string | null;
    toString(): string;
  }

  export interface JID {
    toString(): string;
  }

  export interface IqContext {
    stanza: Element;
    element: Element;
  }

  export interface IqCallee {
    get(xmlns: string, name: string, handler: (ctx: IqContext) => Element | Promise<Element> | true): void;
    set(xmlns: string, name: string, handler: (ctx: IqContext) => Element | Promise<Element> | true): void;
  }

  export interface Client {
    iqCallee: IqCallee;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
    on(event: 'stanza', listener: (stanza: Element) => void): this;
    on(event: 'error' | 'offline' | 'online' | 'status', listener: (...args: unknown[]) => void): this;
  }

  export interface ClientOptions {
    service: string;
    domain: string;
    username?: string;
    password?: string;
    resource?: string;
  }

  export function client(options: ClientOptions): Client;
  export function xml(
    name: string,
    attrs?: Record<string, string | undefined> | null,
    ...children: Array<Element | string>
  ): Element;
}
