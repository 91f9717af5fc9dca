// SPDX-License-Identifier: GPL-2.0-or-later
// The worker's view of one HTTP request and of what it decides, independent of ETF.
// src/port/protocol.ts maps these to and from the frames the Erlang stub exchanges.
import type { BatchItem } from './batch.js';

/** One HTTP request, as the Erlang stub sends it. */
export interface RestRequest {
  /** HTTP method in upper case, e.g. "POST". */
  method: string;
  /** Path below the handler's prefix, already split on "/" (`/rest` -> [], `/rest/x` -> ["x"]). */
  path: string[];
  /** The raw body, not yet decoded: it may be invalid UTF-8. */
  body: Buffer;
  /** Peer address in text form as `inet:ntoa/1` prints it ("127.0.0.1", "::1", "::ffff:127.0.0.1"). */
  ip: string;
  /** The ejabberd vhost whose options apply (the stub has already chosen it). */
  host: string;
  /**
   * The request carries credentials (an Authorization header): the authenticated API, whose
   * sender the stub binds to the account. Absent in frames of a stub that predates it: false.
   */
  api?: boolean;
  /** The Content-Type header's media type, lower case, without parameters; absent when none. */
  contentType?: string;
  /** The Accept header as sent; absent when none. The authenticated API's answers follow it. */
  accept?: string;
  /** The query string's fields, decoded, in order (`GET /rest/archive/x?max=10`). */
  query?: Array<[string, string]>;
  /** The Origin header as sent (a browser's page, or `null`); absent when none (browser.ts). */
  origin?: string;
  /** The Sec-Fetch-Site header as sent (`same-origin`, `same-site`, `cross-site`, `none`); absent when none. */
  fetchSite?: string;
  /** The request's own origin, scheme://Host as the listener and the Host header say; absent when no Host. */
  ownOrigin?: string;
  /** The Authorization header's scheme, lower case (`basic`, `bearer`, ...); absent when none. */
  authScheme?: string;
}

/** The per-vhost policy, already validated and normalised by ejabberd (econf) before it gets here. */
export interface HostPolicy {
  /** CIDR text ("127.0.0.1/32", "::1/128", "10.0.0.0/8"); empty means any peer. */
  allowedIps: string[];
  /** Peers admitted to the authenticated API (option api_allowed_ips), as allowedIps; absent: allowedIps. */
  apiAllowedIps?: string[];
  /** JIDs lower-cased by `jid:tolower/1` and encoded ("nolan@localhost", "bot@localhost/res"); empty means any. */
  allowedDestinations: string[];
  /** Element names ("message", "presence", "iq"); empty means any. */
  allowedStanzaTypes: string[];
  /**
   * JIDs an unauthenticated stanza may claim as its `from`, normalised as allowedDestinations
   * (a bare entry admits its resources; a domain admits itself and its resources, not its users);
   * null means any sender (option value `all`). An empty list admits none.
   */
  allowedSenders: string[] | null;
  /** Deepest element nesting accepted (option max_xml_depth); MAX_XML_DEPTH when absent. */
  maxXmlDepth?: number;
  /** Most elements a stanza may hold (option max_xml_elements); MAX_XML_ELEMENTS when absent. */
  maxXmlElements?: number;
  /** Most arguments a command line may have (option max_command_args); MAX_COMMAND_ARGS when absent. */
  maxCommandArgs?: number;
  /** Origins whose pages may call the API from a browser (api_allowed_origins); null: all; absent: none. */
  apiAllowedOrigins?: string[] | null;
  /** Origins whose pages may use the original protocol from a browser (allowed_origins); as apiAllowedOrigins. */
  allowedOrigins?: string[] | null;
  /** Most stanzas in one batch request (option api_max_batch_items); API_MAX_BATCH_ITEMS when absent. */
  apiMaxBatchItems?: number;
  /** Largest batch request in bytes (option api_max_batch_size); API_MAX_BATCH_SIZE when absent. */
  apiMaxBatchSize?: number;
  /** Longest command line in bytes (option max_command_size); MAX_COMMAND_SIZE when absent. */
  maxCommandSize?: number;
  /** Largest stanza of the authenticated API in bytes (option api_max_stanza_size); API_MAX_STANZA_SIZE when absent. */
  apiMaxStanzaSize?: number;
}

/** An XML element as ejabberd's `#xmlel{}` holds it: attributes in document order, xmlns kept as an attribute. */
export interface XmlElement {
  name: string;
  attrs: Array<[string, string]>;
  children: XmlNode[];
}
/** Character data; ejabberd's `{xmlcdata, Binary}`. */
export type XmlNode = XmlElement | string;

export interface CommandAuth {
  user: string;
  server: string;
  password: string;
}

/** What the worker asks the stub to do for one request. */
export type Action =
  /** Route this stanza (the stub decodes it with the xmpp library, runs user_send_packet, routes it). */
  | { kind: 'route'; stanza: XmlElement }
  /** Authenticated API: send this stanza as the account the stub authenticates (it binds `from`). */
  | { kind: 'send'; stanza: XmlElement }
  /** Authenticated API: answer with this rendered document (an error, or a reply rendered on the stub's request). */
  | { kind: 'document'; status: number; headers: Array<[string, string]>; contentType: string; body: Buffer | string }
  /** Authenticated API, POST /rest/echo: answer this stanza as it would be sent, send nothing. */
  | { kind: 'echo'; stanza: XmlElement }
  /** Authenticated API: send these stanzas in order as the account (batch.ts); each refused item is answered alone. */
  | { kind: 'send_batch'; items: BatchItem[] }
  /** Authenticated API: send this MAM query iq (XEP-0313); the stub collects its result messages for the answer. */
  | { kind: 'archive'; stanza: XmlElement }
  /** Run this ejabberd command (the stub checks credentials and access_commands first). */
  | { kind: 'command'; name: string; args: string[]; auth: CommandAuth | null }
  /** Answer the HTTP request with this status and plain-text body; nothing else happens. */
  | { kind: 'answer'; status: number; body: string }
  /** Carry out `action`, then add these headers to its answer (CORS for a listed origin, browser.ts). */
  | { kind: 'with_headers'; headers: Array<[string, string]>; action: Action };
