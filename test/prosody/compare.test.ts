// SPDX-License-Identifier: GPL-2.0-or-later
// Our authenticated API side by side with the peer it is compatible with: a real Prosody 13 and
// the newest mod_rest (scripts/prosody.ts, from the sid chroot) next to our ejabberd (the host's,
// scripts/sandbox.ts), the same accounts on both, the same requests to both. For every case the
// two answers (status, media type, body, and where a message is sent, what reaches a real XMPP
// client) are normalised (generated ids, server names and versions, server-specific disco
// features) and must be equal, unless DIFFERENCES below lists the case: then each side must give
// exactly the answer written there, so a difference that appears or disappears fails the test.
// Not in `make test` (it needs the sid chroot and root): `make test-prosody`, and `make test-matrix`.
//
// To update DIFFERENCES after a change: PROSODY_COMPARE_PRINT=1 npx mocha --timeout 60000
// test/prosody/compare.test.ts prints every differing case as a row ready to paste.
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { SaxesParser } from 'saxes';
import { Prosody, prosodyTempDir, prosodyUnavailable, prosodyVersion } from '../../scripts/prosody.js';
import type { Sandbox } from '../../scripts/sandbox.js';
import { freePort } from '../../scripts/sandbox.js';
import { bodyOf, startSandbox, stopSandbox, suiteFailed, XmppUser, type Element } from '../integration/support.js';

const PASSWORDS = { alice: 'Al1ce-cmp-pw-4f', bob: 'B0b-cmp-pw-9a', admin: 'Adm1n-cmp-pw-c3' } as const;
const USERS = Object.entries(PASSWORDS) as Array<[string, string]>;
const XML = 'application/xmpp+xml';
const JSON_TYPE = 'application/json';
const BOB = 'bob@localhost';
/** bob's client on each server: iqs to this full JID reach it. */
const BOB_FULL = 'bob@localhost/cmp';
/** How long a message answered 2xx may take to reach bob's client. */
const DELIVERY_MS = 5_000;
const HTTP_TIMEOUT_MS = 15_000;
/** Unique per run, so that each case recognises its own messages; shown as {run} in answers. */
const RUN = randomBytes(4).toString('hex');
const PRINT = Boolean(process.env.PROSODY_COMPARE_PRINT);

/** Who the request says it is. */
type Auth = 'alice' | 'none' | 'wrong-password' | 'unknown-user' | 'user@host' | 'malformed' | 'bearer' | 'lower-case-scheme';

interface Case {
  name: string;
  method?: 'GET' | 'POST';
  /** Default /rest. */
  path?: string;
  /** Default alice. */
  auth?: Auth;
  /** Content-Type of a POST: default application/xmpp+xml; null sends none. */
  type?: string | null;
  accept?: string;
  /** TOKEN is replaced by this case's own token (a message body bob's client looks for). */
  body?: string;
  /** Prosody's status, as prosody-mod-rest.md observed it (a check that our Prosody is the peer we mean). */
  prosody: number;
  /** The request posts a message with TOKEN to bob: what reaches bob is part of the answer. */
  sends?: true;
}

/** One server's answer, normalised. */
interface Answer {
  status: number;
  /** The media type (no parameters), or '-' for none. */
  type: string;
  body: string;
  /** For cases that send: who bob's client received TOKEN from (and its type), or 'nothing'. */
  delivered?: string;
}

interface Difference {
  prosody: Answer;
  ours: Answer;
  /** deliberate: we answer otherwise on purpose; gap: not built yet (or a bug). */
  kind: 'deliberate' | 'gap';
  why: string;
}

const message = (attrs = '') => `<message to='${BOB}'${attrs}><body>TOKEN</body></message>`;
const json = (v: unknown) => JSON.stringify(v);

const CASES: Case[] = [
  // --- messages, each way Prosody's mod_rest takes them ---
  { name: 'XML message', body: message(), prosody: 202, sends: true },
  { name: 'XML message, Accept json', body: message(), accept: JSON_TYPE, prosody: 202, sends: true },
  { name: 'JSON message', type: JSON_TYPE, body: json({ kind: 'message', to: BOB, body: 'TOKEN' }), prosody: 202, sends: true },
  { name: 'JSON message of type chat, charset parameter', type: 'application/json; charset=utf-8', body: json({ kind: 'message', type: 'chat', to: BOB, body: 'TOKEN' }), prosody: 202, sends: true },
  { name: 'form-urlencoded message', type: 'application/x-www-form-urlencoded', body: `to=${encodeURIComponent(BOB)}&body=TOKEN`, prosody: 202, sends: true },
  { name: 'text/plain to /rest/message/chat/bob@localhost', path: `/rest/message/chat/${BOB}`, type: 'text/plain', body: 'TOKEN', prosody: 202, sends: true },
  { name: 'text/plain to /rest (a chat message to oneself in Prosody)', type: 'text/plain', body: 'TOKEN', prosody: 202 },
  { name: "XML message with from = the account's full JID", body: message(" from='alice@localhost/x'"), prosody: 202, sends: true },
  { name: 'XML message from another account', body: message(" from='admin@localhost'"), prosody: 403, sends: true },
  { name: 'XML message from another account, Accept json', body: message(" from='admin@localhost'"), accept: JSON_TYPE, prosody: 403, sends: true },
  { name: 'XML message from another account, Accept xmpp+xml', body: message(" from='admin@localhost'"), accept: XML, prosody: 403, sends: true },
  { name: 'XML directed presence', body: `<presence to='${BOB}'/>`, prosody: 202 },
  { name: 'XML presence without to (a broadcast)', body: '<presence/>', prosody: 500 },
  { name: 'JSON presence', type: JSON_TYPE, body: json({ kind: 'presence', to: BOB, show: 'away' }), prosody: 202 },
  // --- iqs: the reply is the answer ---
  { name: 'XML iq version to the server', body: "<iq type='get' id='c-v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>", prosody: 200 },
  { name: 'XML iq version to the server, Accept json', body: "<iq type='get' id='c-v2' to='localhost'><query xmlns='jabber:iq:version'/></iq>", accept: JSON_TYPE, prosody: 200 },
  { name: 'JSON iq version to the server', type: JSON_TYPE, body: json({ kind: 'iq', type: 'get', id: 'c-v3', to: 'localhost', version: true }), prosody: 200 },
  { name: 'JSON iq ping to the server, Accept xmpp+xml', type: JSON_TYPE, body: json({ kind: 'iq', id: 'c-p1', to: 'localhost', ping: true }), accept: XML, prosody: 200 },
  { name: 'XML iq disco#info to the server', body: "<iq type='get' id='c-d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", prosody: 200 },
  { name: 'XML iq to a logged-in client, answered by it', body: `<iq type='get' id='c-e1' to='${BOB_FULL}'><query xmlns='urn:example:echo'/></iq>`, prosody: 200 },
  { name: 'XML iq to an offline full JID', body: "<iq type='get' id='c-o1' to='bob@localhost/nowhere'><ping xmlns='urn:xmpp:ping'/></iq>", prosody: 200 },
  { name: 'XML iq to an offline full JID, Accept json', body: "<iq type='get' id='c-o2' to='bob@localhost/nowhere'><ping xmlns='urn:xmpp:ping'/></iq>", accept: JSON_TYPE, prosody: 200 },
  { name: 'XML iq of a namespace the server does not serve', body: "<iq type='get' id='c-u1' to='localhost'><query xmlns='urn:example:nothing'/></iq>", prosody: 200 },
  { name: 'XML iq of type result', body: "<iq type='result' id='c-r1' to='localhost'/>", prosody: 422 },
  { name: 'XML iq with two children', body: "<iq type='get' id='c-t1' to='localhost'><ping xmlns='urn:xmpp:ping'/><query xmlns='jabber:iq:version'/></iq>", prosody: 422 },
  { name: 'XML iq without a child', body: "<iq type='get' id='c-t2' to='localhost'/>", prosody: 422 },
  // --- GET /rest/{query}/{to} ---
  ...['ping', 'version', 'disco', 'items', 'lastactivity'].flatMap((q): Case[] => [
    { name: `GET /rest/${q}/localhost`, method: 'GET', path: `/rest/${q}/localhost`, prosody: 200 },
    { name: `GET /rest/${q}/localhost, Accept json`, method: 'GET', path: `/rest/${q}/localhost`, accept: JSON_TYPE, prosody: 200 },
  ]),
  { name: 'GET /rest/bogus/localhost (unknown query)', method: 'GET', path: '/rest/bogus/localhost', accept: JSON_TYPE, prosody: 422 },
  { name: 'GET /rest/ping/localhost without credentials', method: 'GET', path: '/rest/ping/localhost', auth: 'none', prosody: 401 },
  // --- echo: the stanza as it would be sent, nothing sent ---
  { name: 'POST /rest/echo, XML', path: '/rest/echo', body: message(), prosody: 200, sends: true },
  { name: 'POST /rest/echo, JSON in and out', path: '/rest/echo', type: JSON_TYPE, body: json({ kind: 'message', to: BOB, body: 'TOKEN' }), prosody: 200, sends: true },
  { name: 'POST /rest/echo from another account', path: '/rest/echo', body: message(" from='admin@localhost'"), prosody: 403, sends: true },
  // --- credentials ---
  { name: 'no credentials', auth: 'none', body: message(), prosody: 401, sends: true },
  { name: 'no credentials, Accept json', auth: 'none', body: message(), accept: JSON_TYPE, prosody: 401, sends: true },
  { name: 'wrong password', auth: 'wrong-password', body: message(), prosody: 403, sends: true },
  { name: 'wrong password, Accept json', auth: 'wrong-password', body: message(), accept: JSON_TYPE, prosody: 403, sends: true },
  { name: 'unknown user', auth: 'unknown-user', body: message(), accept: JSON_TYPE, prosody: 500, sends: true },
  { name: 'Basic user given as user@host', auth: 'user@host', body: message(), prosody: 403, sends: true },
  { name: 'malformed Basic credentials', auth: 'malformed', body: message(), accept: JSON_TYPE, prosody: 403, sends: true },
  { name: 'a Bearer token that is no token', auth: 'bearer', body: message(), accept: JSON_TYPE, prosody: 403, sends: true },
  { name: "lower-case 'basic' scheme", auth: 'lower-case-scheme', body: message(), prosody: 202, sends: true },
  // --- payloads that do not parse or are no stanza ---
  { name: 'malformed XML', body: `<message to='${BOB}'><body>TOKEN</bod></message>`, prosody: 400 },
  { name: 'malformed XML, Accept json', body: `<message to='${BOB}'><body>TOKEN</bod></message>`, accept: JSON_TYPE, prosody: 400 },
  { name: 'malformed JSON', type: JSON_TYPE, body: '{"kind":', prosody: 400 },
  { name: 'empty XML body', body: '', prosody: 400 },
  // Not here: a body over 10 MiB (http_max_content_size), where Prosody 0.12 answered 301 and
  // closed the connection: a quirk of Prosody's HTTP server, not of the API, and 20 MB of traffic.
  { name: 'body of 200 kB (over rest_stanza_size_limit, 192 KiB)', body: message().replace('TOKEN', `TOKEN ${'x'.repeat(200_000)}`), accept: JSON_TYPE, prosody: 413, sends: true },
  { name: 'JSON of an unknown kind', type: JSON_TYPE, body: json({ kind: 'foo', to: BOB, body: 'TOKEN' }), accept: JSON_TYPE, prosody: 400 },
  { name: 'XML element that is no stanza', body: '<foo/>', prosody: 422 },
  { name: 'XML element that is no stanza, Accept json', body: '<foo/>', accept: JSON_TYPE, prosody: 422 },
  { name: "XML message in another namespace (xmlns='jabber:server')", body: `<message xmlns='jabber:server' to='${BOB}'><body>TOKEN</body></message>`, prosody: 422, sends: true },
  { name: 'XML message to an invalid JID', body: "<message to='bob@@localhost'><body>TOKEN</body></message>", prosody: 422 },
  { name: 'Content-Type text/xml', type: 'text/xml', body: message(), prosody: 415, sends: true },
  { name: 'no Content-Type', type: null, body: message(), prosody: 415, sends: true },
  { name: 'GET /rest (no query)', method: 'GET', prosody: 301 },
];

type Reason = Pick<Difference, 'kind' | 'why'>;

/** Why the answers differ: one reason serves many cases. */
const WHY = {
  typeOn202: { kind: 'deliberate', why: 'ejabberd_http gives every answer a Content-Type (text/html when the handler names none): ours names application/xmpp+xml on its empty 202; Prosody sends none' },
  errorWords: { kind: 'deliberate', why: "an error without Accept: ours answers a text/plain 'Error: ...' line (the original's words, what its clients read), Prosody its HTML error page" },
  errorObject: { kind: 'deliberate', why: "the same error object (or stream error) as Prosody's, with two keys more (error.code, and error.id: our catalogue's stable code) and our own wording of the text" },
  errorByBodyType: { kind: 'deliberate', why: "an error without Accept is answered in the request's own media type (JSON here), as a result is; Prosody's errors follow Accept alone (HTML by default)" },
  iqErrorStatus: { kind: 'deliberate', why: 'an iq error is answered with the HTTP status of its condition (README: service-unavailable 503, ...); Prosody answers every iq reply 200' },
  presenceBroadcast: { kind: 'deliberate', why: "Prosody 13 crashes on a presence without 'to' (mod_presence.lua:70: the REST session has no roster: 500); ours refuses a stanza without 'to' (422, README)" },
  lastActivity: { kind: 'deliberate', why: "the servers differ, not the modules: ejabberd's mod_last answers the server's uptime (XEP-0012), Prosody's mod_lastactivity answers for accounts only" },
  unknownQuery: { kind: 'deliberate', why: 'an unknown query is a path the API does not have (404); Prosody builds an iq without payload and refuses that (422)' },
  badCredentials: { kind: 'deliberate', why: 'bad credentials are 401 with WWW-Authenticate (RFC 9110 §15.5.2), one answer for every failure; Prosody 403' },
  unknownUser: { kind: 'deliberate', why: "Prosody 13's internal_plain crashes on an unknown user (saslprep(nil), mod_auth_internal_plain.lua:33: 500); ours answers as for a wrong password" },
  userAtHost: { kind: 'deliberate', why: 'ours takes user@vhost as the Basic user (README); Prosody nodepreps the whole string and refuses it' },
  bearer: { kind: 'deliberate', why: 'a token that is not one is 401 (RFC 6750 §3.1, invalid_token), as any bad credentials; Prosody 403' },
  textPlain: { kind: 'deliberate', why: "a text/plain body on POST /rest is a command line in ours (the original's protocol); Prosody sends it as a chat message to the account itself" },
  emptyBody: { kind: 'deliberate', why: 'ejabberd_http itself refuses an empty POST with its own 400 page, before mod_rest runs' },
  size: { kind: 'deliberate', why: "the limits differ: ours takes bodies up to max_body_size (20 MiB) and delivers this one; Prosody's rest_stanza_size_limit is 192 KiB" },
  unknownKind: { kind: 'deliberate', why: 'well-formed JSON that is no stanza is 422 in ours (README); Prosody maps every parse failure to 400 (the object: see errorObject)' },
  mediaType: { kind: 'deliberate', why: "ours takes text/xml as XML, and a body without a type as a stanza when it begins with '<' (README: what the original's clients send); Prosody 415" },
  getRoot: { kind: 'deliberate', why: "Prosody's HTTP router redirects /rest to /rest/; ours has nothing to GET there (404)" },
} satisfies Record<string, Reason>;

/**
 * Where the answers differ today: case -> Prosody's answer, ours, and why. Generated ids show as
 * {id}, the run's token as {run}, server names, versions and OS as {name} {version} {os}.
 */
const DIFFERENCES: Record<string, Difference> = {
  "XML message": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.typeOn202,
  },
  "XML message, Accept json": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.typeOn202,
  },
  "JSON message": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.typeOn202,
  },
  "JSON message of type chat, charset parameter": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost type chat"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost type chat"},
    ...WHY.typeOn202,
  },
  "form-urlencoded message": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.typeOn202,
  },
  "text/plain to /rest/message/chat/bob@localhost": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost type chat"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost type chat"},
    ...WHY.typeOn202,
  },
  "text/plain to /rest (a chat message to oneself in Prosody)": {
    prosody: {"status":202,"type":"-","body":""},
    ours: {"status":403,"type":"text/plain","body":"Error: alice@localhost is not allowed to run '{run}-text-plain-to-rest-a-chat-message-to-oneself-in-prosody'."},
    ...WHY.textPlain,
  },
  "XML message with from = the account's full JID": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost/x"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost/x"},
    ...WHY.typeOn202,
  },
  "XML message from another account": {
    prosody: {"status":403,"type":"text/html","body":"HTML: 403 Forbidden / Not authorized to send stanza with requested 'from'","delivered":"nothing"},
    ours: {"status":403,"type":"text/plain","body":"Error: the stanza's 'from' is not the authenticated account.","delivered":"nothing"},
    ...WHY.errorWords,
  },
  "XML message from another account, Accept json": {
    prosody: {"status":403,"type":"application/json","body":"{\"code\":403,\"error\":{\"condition\":\"not-authorized\",\"source\":\"mod_rest\",\"text\":\"Not authorized to send stanza with requested 'from'\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ours: {"status":403,"type":"application/json","body":"{\"code\":403,\"error\":{\"code\":403,\"condition\":\"not-authorized\",\"id\":\"FROM_NOT_ACCOUNT\",\"source\":\"mod_rest\",\"text\":\"the stanza's 'from' is not the authenticated account.\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ...WHY.errorObject,
  },
  "XML message from another account, Accept xmpp+xml": {
    prosody: {"status":403,"type":"application/xmpp+xml","body":"<error xmlns='http://etherx.jabber.org/streams'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Not authorized to send stanza with requested &apos;from&apos;</text></error>","delivered":"nothing"},
    ours: {"status":403,"type":"application/xmpp+xml","body":"<error xmlns='http://etherx.jabber.org/streams'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>the stanza&apos;s &apos;from&apos; is not the authenticated account.</text></error>","delivered":"nothing"},
    ...WHY.errorObject,
  },
  "XML directed presence": {
    prosody: {"status":202,"type":"-","body":""},
    ours: {"status":202,"type":"application/xmpp+xml","body":""},
    ...WHY.typeOn202,
  },
  "XML presence without to (a broadcast)": {
    prosody: {"status":500,"type":"text/html","body":"HTML: 500 Internal Server Error / "},
    ours: {"status":422,"type":"text/plain","body":"Error: the stanza has no 'to'."},
    ...WHY.presenceBroadcast,
  },
  "JSON presence": {
    prosody: {"status":202,"type":"-","body":""},
    ours: {"status":202,"type":"application/xmpp+xml","body":""},
    ...WHY.typeOn202,
  },
  "XML iq to an offline full JID": {
    prosody: {"status":200,"type":"application/xmpp+xml","body":"<iq from='bob@localhost/nowhere' id='c-o1' to='alice@localhost' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
    ours: {"status":503,"type":"application/xmpp+xml","body":"<iq from='bob@localhost/nowhere' id='c-o1' to='alice@localhost' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
    ...WHY.iqErrorStatus,
  },
  "XML iq to an offline full JID, Accept json": {
    prosody: {"status":200,"type":"application/json","body":"{\"error\":{\"condition\":\"service-unavailable\",\"type\":\"cancel\"},\"from\":\"bob@localhost/nowhere\",\"id\":\"c-o2\",\"kind\":\"iq\",\"to\":\"alice@localhost\",\"type\":\"error\"}"},
    ours: {"status":503,"type":"application/json","body":"{\"error\":{\"condition\":\"service-unavailable\",\"type\":\"cancel\"},\"from\":\"bob@localhost/nowhere\",\"id\":\"c-o2\",\"kind\":\"iq\",\"to\":\"alice@localhost\",\"type\":\"error\"}"},
    ...WHY.iqErrorStatus,
  },
  "XML iq of a namespace the server does not serve": {
    prosody: {"status":200,"type":"application/xmpp+xml","body":"<iq from='localhost' id='c-u1' to='alice@localhost' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
    ours: {"status":503,"type":"application/xmpp+xml","body":"<iq from='localhost' id='c-u1' to='alice@localhost' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
    ...WHY.iqErrorStatus,
  },
  "XML iq of type result": {
    prosody: {"status":422,"type":"text/html","body":"HTML: 422 Unprocessable Content / 'iq' stanza must be of type 'get' or 'set'"},
    ours: {"status":422,"type":"text/plain","body":"Error: an iq must be of type get or set."},
    ...WHY.errorWords,
  },
  "XML iq with two children": {
    prosody: {"status":422,"type":"text/html","body":"HTML: 422 Unprocessable Content / 'iq' stanza must have exactly one child tag"},
    ours: {"status":422,"type":"text/plain","body":"Error: an iq get or set must have exactly one child element."},
    ...WHY.errorWords,
  },
  "XML iq without a child": {
    prosody: {"status":422,"type":"text/html","body":"HTML: 422 Unprocessable Content / 'iq' stanza must have exactly one child tag"},
    ours: {"status":422,"type":"text/plain","body":"Error: an iq get or set must have exactly one child element."},
    ...WHY.errorWords,
  },
  "GET /rest/lastactivity/localhost": {
    prosody: {"status":200,"type":"application/xmpp+xml","body":"<iq from='localhost' id='{id}' to='alice@localhost' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
    ours: {"status":200,"type":"application/xmpp+xml","body":"<iq from='localhost' id='{id}' to='alice@localhost' type='result'><query seconds='{seconds}' xmlns='jabber:iq:last'/></iq>"},
    ...WHY.lastActivity,
  },
  "GET /rest/lastactivity/localhost, Accept json": {
    prosody: {"status":200,"type":"application/json","body":"{\"error\":{\"condition\":\"service-unavailable\",\"type\":\"cancel\"},\"from\":\"localhost\",\"id\":\"{id}\",\"kind\":\"iq\",\"to\":\"alice@localhost\",\"type\":\"error\"}"},
    ours: {"status":200,"type":"application/json","body":"{\"from\":\"localhost\",\"id\":\"{id}\",\"kind\":\"iq\",\"lastactivity\":{\"seconds\":\"{seconds}\"},\"to\":\"alice@localhost\",\"type\":\"result\"}"},
    ...WHY.lastActivity,
  },
  "GET /rest/bogus/localhost (unknown query)": {
    prosody: {"status":422,"type":"application/json","body":"{\"code\":422,\"error\":{\"condition\":\"bad-format\",\"source\":\"mod_rest\",\"text\":\"'iq' stanza must have exactly one child tag\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ours: {"status":404,"type":"application/json","body":"{\"code\":404,\"error\":{\"code\":404,\"condition\":\"item-not-found\",\"id\":\"NO_SUCH_PATH\",\"source\":\"mod_rest\",\"text\":\"no such path in the REST API.\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ...WHY.unknownQuery,
  },
  "GET /rest/ping/localhost without credentials": {
    prosody: {"status":401,"type":"text/html","body":"HTML: 401 Unauthorized / No credentials provided"},
    ours: {"status":401,"type":"text/plain","body":"Error: credentials are required: HTTP Basic (an account and its password) or Bearer (an OAuth token)."},
    ...WHY.errorWords,
  },
  "POST /rest/echo from another account": {
    prosody: {"status":403,"type":"text/html","body":"HTML: 403 Forbidden / Not authorized to send stanza with requested 'from'","delivered":"nothing"},
    ours: {"status":403,"type":"text/plain","body":"Error: the stanza's 'from' is not the authenticated account.","delivered":"nothing"},
    ...WHY.errorWords,
  },
  "no credentials": {
    prosody: {"status":401,"type":"text/html","body":"HTML: 401 Unauthorized / No credentials provided","delivered":"nothing"},
    ours: {"status":401,"type":"text/plain","body":"Error: credentials are required: HTTP Basic (an account and its password) or Bearer (an OAuth token).","delivered":"nothing"},
    ...WHY.errorWords,
  },
  "no credentials, Accept json": {
    prosody: {"status":401,"type":"application/json","body":"{\"code\":401,\"error\":{\"condition\":\"not-authorized\",\"source\":\"mod_rest\",\"text\":\"No credentials provided\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ours: {"status":401,"type":"application/json","body":"{\"code\":401,\"error\":{\"code\":401,\"condition\":\"not-authorized\",\"id\":\"NO_CREDENTIALS\",\"source\":\"mod_rest\",\"text\":\"credentials are required: HTTP Basic (an account and its password) or Bearer (an OAuth token).\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ...WHY.errorObject,
  },
  "wrong password": {
    prosody: {"status":403,"type":"text/html","body":"HTML: 403 Forbidden / Credentials not accepted","delivered":"nothing"},
    ours: {"status":401,"type":"text/plain","body":"Error: invalid credentials.","delivered":"nothing"},
    ...WHY.badCredentials,
  },
  "wrong password, Accept json": {
    prosody: {"status":403,"type":"application/json","body":"{\"code\":403,\"error\":{\"condition\":\"not-authorized\",\"source\":\"mod_rest\",\"text\":\"Credentials not accepted\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ours: {"status":401,"type":"application/json","body":"{\"code\":401,\"error\":{\"code\":401,\"condition\":\"not-authorized\",\"id\":\"INVALID_CREDENTIALS\",\"source\":\"mod_rest\",\"text\":\"invalid credentials.\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ...WHY.badCredentials,
  },
  "unknown user": {
    prosody: {"status":500,"type":"text/html","body":"HTML: 500 Internal Server Error / ","delivered":"nothing"},
    ours: {"status":401,"type":"application/json","body":"{\"code\":401,\"error\":{\"code\":401,\"condition\":\"not-authorized\",\"id\":\"INVALID_CREDENTIALS\",\"source\":\"mod_rest\",\"text\":\"invalid credentials.\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ...WHY.unknownUser,
  },
  "Basic user given as user@host": {
    prosody: {"status":403,"type":"text/html","body":"HTML: 403 Forbidden / Credentials failed stringprep","delivered":"nothing"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.userAtHost,
  },
  "malformed Basic credentials": {
    prosody: {"status":403,"type":"application/json","body":"{\"code\":403,\"error\":{\"condition\":\"not-authorized\",\"source\":\"mod_rest\",\"text\":\"Credentials malformed\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ours: {"status":401,"type":"application/json","body":"{\"code\":401,\"error\":{\"code\":401,\"condition\":\"not-authorized\",\"id\":\"INVALID_CREDENTIALS\",\"source\":\"mod_rest\",\"text\":\"invalid credentials.\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ...WHY.badCredentials,
  },
  "a Bearer token that is no token": {
    prosody: {"status":403,"type":"application/json","body":"{\"code\":403,\"error\":{\"condition\":\"not-authorized\",\"source\":\"mod_tokenauth\",\"text\":\"Credentials malformed\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ours: {"status":401,"type":"application/json","body":"{\"code\":401,\"error\":{\"code\":401,\"condition\":\"not-authorized\",\"id\":\"INVALID_CREDENTIALS\",\"source\":\"mod_rest\",\"text\":\"invalid credentials.\",\"type\":\"auth\"},\"type\":\"error\"}","delivered":"nothing"},
    ...WHY.bearer,
  },
  "lower-case 'basic' scheme": {
    prosody: {"status":202,"type":"-","body":"","delivered":"from alice@localhost"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.typeOn202,
  },
  "malformed XML": {
    prosody: {"status":400,"type":"text/html","body":"HTML: 400 Bad Request / Failed to parse payload"},
    ours: {"status":400,"type":"text/plain","body":"Error: the body is not one well-formed XML element: malformed xml."},
    ...WHY.errorWords,
  },
  "malformed XML, Accept json": {
    prosody: {"status":400,"type":"application/json","body":"{\"code\":400,\"error\":{\"condition\":\"not-well-formed\",\"source\":\"mod_rest\",\"text\":\"Failed to parse payload\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ours: {"status":400,"type":"application/json","body":"{\"code\":400,\"error\":{\"code\":400,\"condition\":\"not-well-formed\",\"id\":\"NOT_WELL_FORMED\",\"source\":\"mod_rest\",\"text\":\"the body is not one well-formed XML element: malformed xml.\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ...WHY.errorObject,
  },
  "malformed JSON": {
    prosody: {"status":400,"type":"text/html","body":"HTML: 400 Bad Request / Failed to parse payload"},
    ours: {"status":400,"type":"application/json","body":"{\"code\":400,\"error\":{\"code\":400,\"condition\":\"not-well-formed\",\"id\":\"BAD_JSON\",\"source\":\"mod_rest\",\"text\":\"the JSON body does not parse.\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ...WHY.errorByBodyType,
  },
  "empty XML body": {
    prosody: {"status":400,"type":"text/html","body":"HTML: 400 Bad Request / Failed to parse payload"},
    ours: {"status":400,"type":"text/html","body":"HTML: 400 Bad Request / "},
    ...WHY.emptyBody,
  },
  "body of 200 kB (over rest_stanza_size_limit, 192 KiB)": {
    prosody: {"status":413,"type":"application/json","body":"{\"code\":413,\"error\":{\"condition\":\"resource-constraint\",\"source\":\"mod_rest\",\"text\":\"Payload too large\",\"type\":\"modify\"},\"type\":\"error\"}","delivered":"nothing"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.size,
  },
  "JSON of an unknown kind": {
    prosody: {"status":400,"type":"application/json","body":"{\"code\":400,\"error\":{\"condition\":\"not-well-formed\",\"source\":\"mod_rest\",\"text\":\"Failed to parse payload\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ours: {"status":422,"type":"application/json","body":"{\"code\":422,\"error\":{\"code\":422,\"condition\":\"bad-request\",\"id\":\"BAD_JSON_STANZA\",\"source\":\"mod_rest\",\"text\":\"the JSON body is not a stanza Prosody's mapping knows: unknown kind 'foo'.\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ...WHY.unknownKind,
  },
  "XML element that is no stanza": {
    prosody: {"status":422,"type":"text/html","body":"HTML: 422 Unprocessable Content / Invalid stanza, must be 'message', 'presence' or 'iq'."},
    ours: {"status":422,"type":"text/plain","body":"Error: the element is not a stanza (message, presence or iq)."},
    ...WHY.errorWords,
  },
  "XML element that is no stanza, Accept json": {
    prosody: {"status":422,"type":"application/json","body":"{\"code\":422,\"error\":{\"condition\":\"unsupported-stanza-type\",\"source\":\"mod_rest\",\"text\":\"Invalid stanza, must be 'message', 'presence' or 'iq'.\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ours: {"status":422,"type":"application/json","body":"{\"code\":422,\"error\":{\"code\":422,\"condition\":\"unsupported-stanza-type\",\"id\":\"NOT_A_STANZA\",\"source\":\"mod_rest\",\"text\":\"the element is not a stanza (message, presence or iq).\",\"type\":\"modify\"},\"type\":\"error\"}"},
    ...WHY.errorObject,
  },
  "XML message in another namespace (xmlns='jabber:server')": {
    prosody: {"status":422,"type":"text/html","body":"HTML: 422 Unprocessable Content / 'xmlns' attribute must be empty","delivered":"nothing"},
    ours: {"status":422,"type":"text/plain","body":"Error: a stanza's namespace must be jabber:client (or none).","delivered":"nothing"},
    ...WHY.errorWords,
  },
  "XML message to an invalid JID": {
    prosody: {"status":422,"type":"text/html","body":"HTML: 422 Unprocessable Content / Invalid destination JID"},
    ours: {"status":422,"type":"text/plain","body":"Error: not a valid stanza: Bad value of attribute 'to' in tag <message/> qualified by namespace 'jabber:client'."},
    ...WHY.errorWords,
  },
  "Content-Type text/xml": {
    prosody: {"status":415,"type":"text/html","body":"HTML: 415 Unsupported Media Type / Unsupported media type","delivered":"nothing"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.mediaType,
  },
  "no Content-Type": {
    prosody: {"status":415,"type":"text/html","body":"HTML: 415 Unsupported Media Type / Unsupported media type","delivered":"nothing"},
    ours: {"status":202,"type":"application/xmpp+xml","body":"","delivered":"from alice@localhost"},
    ...WHY.mediaType,
  },
  "GET /rest (no query)": {
    prosody: {"status":301,"type":"-","body":""},
    ours: {"status":404,"type":"text/plain","body":"Error: no such path in the REST API."},
    ...WHY.getRoot,
  },
};

// --- sending ---

function authorization(auth: Auth): string | undefined {
  const basic = (credentials: string, scheme = 'Basic') => `${scheme} ${Buffer.from(credentials).toString('base64')}`;
  switch (auth) {
    case 'alice':
      return basic(`alice:${PASSWORDS.alice}`);
    case 'none':
      return undefined;
    case 'wrong-password':
      return basic('alice:not-her-password');
    case 'unknown-user':
      return basic('nobody:not-her-password');
    case 'user@host':
      return basic(`alice@localhost:${PASSWORDS.alice}`);
    case 'malformed':
      return 'Basic !!!not-base64-without-a-colon';
    case 'bearer':
      return 'Bearer not-a-token';
    case 'lower-case-scheme':
      return basic(`alice:${PASSWORDS.alice}`, 'basic');
  }
}

interface Raw {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** One request on a fresh connection (no keep-alive socket shared between cases). */
function send(port: number, c: Case, body: string | undefined): Promise<Raw> {
  const method = c.method ?? 'POST';
  const headers: Record<string, string> = {};
  const auth = authorization(c.auth ?? 'alice');
  if (auth) headers.Authorization = auth;
  if (c.accept) headers.Accept = c.accept;
  const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
  if (data !== undefined) {
    const type = c.type === undefined ? XML : c.type;
    if (type !== null) headers['Content-Type'] = type;
    headers['Content-Length'] = String(data.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: c.path ?? '/rest', method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(HTTP_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new Error(`${c.name}: no HTTP answer (${err.message})`)));
    req.end(data);
  });
}

// --- normalising ---

/** The features both servers advertise with the modules of this suite: the rest is each one's own. */
const COMMON_FEATURES = new Set([
  'http://jabber.org/protocol/disco#info',
  'http://jabber.org/protocol/disco#items',
  'jabber:iq:version',
  'urn:xmpp:ping',
  'jabber:iq:last',
]);
const OUR_IDS = /^c-/;

function normalise(raw: Raw): Omit<Answer, 'delivered'> {
  const type = raw.contentType ? raw.contentType.split(';')[0]!.trim().toLowerCase() : '-';
  let body = raw.body;
  if (type === 'text/html') body = html(body);
  else if (type === JSON_TYPE) body = normaliseJson(body);
  else if (body.startsWith('<')) body = normaliseXml(body);
  return { status: raw.status, type, body: body.split(RUN).join('{run}') };
}

/** Prosody's HTML error page: its heading and the error's text. */
function html(page: string): string {
  const text = (re: RegExp) => decodeEntities(re.exec(page)?.[1]?.trim() ?? '');
  return `HTML: ${text(/<h1>([^<]*)<\/h1>/)} / ${text(/<p class="extra">([^<]*)<\/p>/)}`;
}

function decodeEntities(s: string): string {
  return s.replace(/&(apos|quot|lt|gt|amp);/g, (_, e: string) => ({ apos: "'", quot: '"', lt: '<', gt: '>', amp: '&' })[e]!);
}

function normaliseJson(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `not JSON: ${text}`;
  }
  const walk = (v: unknown, key: string, depth: number): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, '', depth + 1));
    if (v === null || typeof v !== 'object') {
      if (key === 'id' && depth === 1 && typeof v === 'string' && !OUR_IDS.test(v)) return '{id}';
      if (key === 'instance_id') return '{instance}';
      if (key === 'seconds') return '{seconds}';
      return v;
    }
    const o = v as Record<string, unknown>;
    if (key === 'version' && depth === 1) return { name: '{name}', version: '{version}', ...(o.os === undefined ? {} : { os: '{os}' }) };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) out[k] = walk(o[k], k, depth + 1);
    // An iq error's text is the server's own wording (ejabberd's router says why, Prosody does not).
    if (depth === 0 && out.kind === 'iq' && out.type === 'error' && typeof out.error === 'object' && out.error) delete (out.error as Record<string, unknown>).text;
    if (key === 'disco' && depth === 1) {
      if (Array.isArray(out.features)) out.features = (out.features as string[]).filter((f) => COMMON_FEATURES.has(f)).sort();
      // ejabberd adds an empty serverinfo form (XEP-0157) to its server's disco#info: its own, as features are.
      delete out.extensions;
      if (Array.isArray(out.identities)) out.identities = (out.identities as Array<Record<string, unknown>>).map((i) => ({ ...i, name: '{name}' }));
    }
    return out;
  };
  return JSON.stringify(walk(value, '', 0));
}

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: Array<XmlNode | string>;
}

/** Canonical XML: attributes sorted, whitespace between elements dropped, ids and server-specific parts replaced. */
function normaliseXml(text: string): string {
  const root: XmlNode = { name: '', attrs: {}, children: [] };
  const stack = [root];
  const parser = new SaxesParser({ xmlns: false });
  let failed: Error | null = null;
  parser.on('error', (err) => (failed ??= err));
  parser.on('opentag', (tag) => {
    const node: XmlNode = { name: tag.name, attrs: { ...(tag.attributes as Record<string, string>) }, children: [] };
    stack.at(-1)!.children.push(node);
    stack.push(node);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (t) => {
    if (t.trim() !== '') stack.at(-1)!.children.push(t);
  });
  parser.write(text).close();
  const top = root.children[0];
  if (failed || root.children.length !== 1 || typeof top !== 'object') return `not XML: ${text}`;
  // The stanza's own namespace is implied in both servers' answers; ejabberd writes it out.
  if (top.attrs.xmlns === 'jabber:client') delete top.attrs.xmlns;
  if (top.attrs.id !== undefined && !OUR_IDS.test(top.attrs.id)) top.attrs.id = '{id}';
  // An error reply: ejabberd quotes the request's payload and adds its own text (RFC 6120
  // §8.3.1 allows both); the condition and type are what the two servers must agree on.
  if (top.attrs.type === 'error') {
    top.children = top.children.filter((n) => typeof n === 'object' && n.name === 'error');
    for (const e of top.children as XmlNode[]) e.children = e.children.filter((n) => typeof n === 'object' && n.name !== 'text');
  }
  for (const child of top.children) {
    if (typeof child === 'string') continue;
    if (child.attrs.xmlns === 'jabber:iq:version') {
      for (const field of child.children) if (typeof field === 'object') field.children = [`{${field.name}}`];
      // ejabberd writes name, os, version; Prosody (and XEP-0092's schema) name, version, os.
      child.children.sort((a, b) => serialise(a).localeCompare(serialise(b)));
    }
    if (child.attrs.xmlns === 'jabber:iq:last' && child.attrs.seconds !== undefined) child.attrs.seconds = '{seconds}';
    if (child.attrs.xmlns === 'http://jabber.org/protocol/disco#info') {
      child.children = child.children.filter((n) => typeof n === 'object' && (n.name === 'identity' || (n.name === 'feature' && COMMON_FEATURES.has(n.attrs.var ?? ''))));
      for (const n of child.children) if (typeof n === 'object' && n.name === 'identity' && n.attrs.name !== undefined) n.attrs.name = '{name}';
      child.children.sort((a, b) => serialise(a as XmlNode).localeCompare(serialise(b as XmlNode)));
    }
  }
  return serialise(top);
}

function serialise(n: XmlNode | string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
  if (typeof n === 'string') return esc(n);
  const attrs = Object.keys(n.attrs)
    .sort()
    .map((k) => ` ${k}='${esc(n.attrs[k]!)}'`)
    .join('');
  return n.children.length ? `<${n.name}${attrs}>${n.children.map(serialise).join('')}</${n.name}>` : `<${n.name}${attrs}/>`;
}

// --- the suite ---

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

interface Server {
  label: 'prosody' | 'ours';
  httpPort: number;
  bob: XmppUser;
  /** Tokens of cases this server refused: none of them may reach bob. */
  refused: string[];
}

describe(`Prosody 13's mod_rest and ours, side by side on the same requests`, function () {
  const why = prosodyUnavailable();
  let prosody: Prosody | undefined;
  let sb: Sandbox | undefined;
  const servers: Server[] = [];
  const printed: string[] = [];

  before(async function () {
    if (why) throw new Error(`cannot run Prosody: ${why}`);
    this.timeout(90_000);
    const dir = prosodyTempDir('mod_rest-prosody-');
    prosody = new Prosody({ dir, c2sPort: await freePort(), httpPort: await freePort(), users: USERS });
    const [, ejabberd] = await Promise.all([
      prosody.start(),
      startSandbox('prosody-compare', {
        users: USERS,
        modRest: { iq_timeout: '5 seconds' },
        config: { modules: { mod_roster: {}, mod_disco: {}, mod_version: {}, mod_ping: {}, mod_last: {} } },
      }),
    ]);
    sb = ejabberd;
    for (const [label, port, server] of [['prosody', prosody.options.httpPort, prosody], ['ours', sb.options.httpPort, sb]] as const) {
      const bob = await XmppUser.login(server, 'bob', PASSWORDS.bob, 'cmp');
      bob.answerIq('urn:example:echo', 'query', () => xml('query', { xmlns: 'urn:example:echo' }, xml('said', {}, 'hello from bob')));
      servers.push({ label, httpPort: port, bob, refused: [] });
    }
  });

  after(async function () {
    this.timeout(60_000);
    for (const s of servers) await s.bob.stop();
    const failed = suiteFailed(this);
    await prosody?.stop();
    if (prosody && !failed && !process.env.KEEP_SANDBOXES) rmSync(prosody.options.dir, { recursive: true, force: true });
    await stopSandbox(sb, failed);
    if (PRINT && printed.length) console.log(`\n// ${printed.length} differing cases:\n${printed.join('\n')}`);
  });

  it(`runs Prosody ${why ? '' : prosodyVersion()} with the newest mod_rest on loopback`, function () {
    expect(prosodyVersion()).to.match(/^13\./);
    expect(prosody!.log()).to.include("Serving 'rest'");
  });

  it('lists in DIFFERENCES only cases that exist, each with two different answers', function () {
    const names = new Set(CASES.map((c) => c.name));
    expect(names.size, 'case names are unique').to.equal(CASES.length);
    for (const [name, d] of Object.entries(DIFFERENCES)) {
      expect(names.has(name), `DIFFERENCES names an unknown case: ${name}`).to.equal(true);
      expect(d.prosody, `the DIFFERENCES row of '${name}' shows no difference`).to.not.deep.equal(d.ours);
    }
  });

  for (const c of CASES) {
    it(c.name, async function () {
      const token = `${RUN}-${slug(c.name)}`;
      const body = c.body?.replace('TOKEN', token) ?? (c.method === 'GET' ? undefined : '');
      const answers: Answer[] = [];
      for (const server of servers) {
        const answer: Answer = normalise(await send(server.httpPort, c, body));
        if (c.sends) {
          if (answer.status >= 200 && answer.status < 300 && !c.path?.endsWith('/echo')) {
            const got = await server.bob.waitFor((s) => startsWith(s, token), DELIVERY_MS).catch(() => null);
            answer.delivered = got ? `from ${got.attrs.from}${got.attrs.type ? ` type ${got.attrs.type}` : ''}` : 'nothing';
          } else {
            server.refused.push(token);
            answer.delivered = 'nothing';
          }
        }
        answers.push(answer);
      }
      const [theirs, ours] = answers as [Answer, Answer];
      const known = DIFFERENCES[c.name];
      if (PRINT && !isDeepEqual(theirs, ours)) printed.push(row(c.name, theirs, ours, known));
      expect(theirs.status, "Prosody's status, as prosody-mod-rest.md observed it").to.equal(c.prosody);
      if (known) {
        expect(theirs, "Prosody's answer (DIFFERENCES)").to.deep.equal(known.prosody);
        expect(ours, 'our answer (DIFFERENCES)').to.deep.equal(known.ours);
      } else {
        expect(ours, 'our answer, the same as Prosody').to.deep.equal(theirs);
      }
    });
  }

  it('delivers nothing that a server refused (or echoed)', async function () {
    for (const server of servers) {
      // A message sent last must arrive; everything sent before it has had its chance.
      const sentinel = { name: 'sentinel', body: message(), prosody: 202 } satisfies Case;
      const token = `${RUN}-sentinel`;
      const reply = await send(server.httpPort, sentinel, sentinel.body.replace('TOKEN', token));
      expect(reply.status, `${server.label}: the sentinel`).to.equal(202);
      await server.bob.waitForBody(token, DELIVERY_MS);
      const leaked = server.bob.received((s) => server.refused.some((t) => startsWith(s, t)));
      expect(leaked.map((s) => `${server.label}: ${bodyOf(s)?.slice(0, 100)}`)).to.deep.equal([]);
    }
  });
});

/** A message whose body begins with this case's token (a body may carry more after it). */
function startsWith(s: Element, token: string): boolean {
  return bodyOf(s)?.startsWith(token) ?? false;
}

function isDeepEqual(a: Answer, b: Answer): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A DIFFERENCES row, ready to paste: the reason it had, or one to write. */
function row(name: string, prosody: Answer, ours: Answer, known: Difference | undefined): string {
  const reason = Object.entries(WHY).find(([, r]) => r.why === known?.why)?.[0];
  const why = reason ? `...WHY.${reason}` : "kind: 'gap', why: 'TODO'";
  return `  ${JSON.stringify(name)}: {\n    prosody: ${JSON.stringify(prosody)},\n    ours: ${JSON.stringify(ours)},\n    ${why},\n  },`;
}
