// SPDX-License-Identifier: GPL-2.0-or-later
// The webhook call (src/webhook/call.ts): URL templates, bodies, the signature, how answers read,
// and the HTTP exchange against a loopback server (deadline, size limit, refused connection).
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Atom, atom, decode, Tuple } from '../../src/port/etf.js';
import { parseInbound, webhookReplyFrame } from '../../src/port/protocol.js';
import { encodeTerm } from '../../src/port/etf-writer.js';
import { callWebhook, deliveryHeaders, MAX_ANSWER_BYTES, readAnswer, signature, standardSignature, webhookBody, webhookUrl, type WebhookJob } from '../../src/webhook/call.js';
import { el } from '../../src/rest/xml-writer.js';

const MESSAGE = el('message', { to: 'echo@bot.localhost', from: 'alice@localhost/desk', type: 'chat' }, [el('body', {}, ['hi & bye'])]);

// Erlang's term_to_binary({webhook, 7, #{url => <<"http://127.0.0.1:8080/{kind}">>, format => json,
// timeout => 5000, secret => <<"s3cret">>, delivery_id => <<"msg_0123456789abcdef">>,
// stanza => {xmlel, <<"message">>, [to, from, type], [body "hi"]}}}).
const FRAME =
  'g2gDZAAHd2ViaG9va2EHdAAAAAZkAAtkZWxpdmVyeV9pZG0AAAAUbXNnXzAxMjM0NTY3ODlhYmNkZWZkAAZmb3JtYXRkAARqc29uZAAGc2VjcmV0bQAAAAZzM2NyZXRkAAZzdGFuemFoBGQABXhtbGVsbQAAAAdtZXNzYWdlbAAAAANoAm0AAAACdG9tAAAAEmVjaG9AYm90LmxvY2FsaG9zdGgCbQAAAARmcm9tbQAAABRhbGljZUBsb2NhbGhvc3QvZGVza2gCbQAAAAR0eXBlbQAAAARjaGF0amwAAAABaARkAAV4bWxlbG0AAAAEYm9keWpsAAAAAWgCZAAIeG1sY2RhdGFtAAAAAmhpampkAAd0aW1lb3V0YgAAE4hkAAN1cmxtAAAAHGh0dHA6Ly8xMjcuMC4wLjE6ODA4MC97a2luZH0=';

describe('webhook calls', () => {
  it('signs as the Standard Webhooks libraries check (their test vector; the standardwebhooks npm package 1.1.1 gives the same)', () => {
    const body = Buffer.from('{"test": 2432232314}');
    expect(standardSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).to.equal(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
    // A secret without the whsec_ prefix is its UTF-8 bytes (the library's new Webhook(base64(secret))).
    expect(standardSignature('change-me', 'msg_1', 1614265330, Buffer.from('body'))).to.equal('v1,7ufBRvBL5F0WhZUwW+eipbV/dP4iNGgen3kE57z83Jc=');
  });

  it('keeps the body-only signature beside the new headers, and the same id at every attempt', () => {
    const body = Buffer.from('x');
    const job: WebhookJob = { url: 'http://h/', format: 'xml', timeout: 1, stanza: MESSAGE, deliveryId: 'msg_2', secret: 's' };
    const first = deliveryHeaders(job, body, 1_000_000);
    const retry = deliveryHeaders(job, body, 1_060_000);
    expect(first['X-Mod-Rest-Signature']).to.equal(signature('s', body));
    expect([first['Webhook-Id'], retry['Webhook-Id']]).to.deep.equal(['msg_2', 'msg_2']);
    expect([first['Webhook-Timestamp'], retry['Webhook-Timestamp']]).to.deep.equal(['1000', '1060']);
    expect(first['Webhook-Signature']).to.not.equal(retry['Webhook-Signature']);
  });

  it('reads the webhook frame Erlang writes', () => {
    const frame = parseInbound(decode(Buffer.from(FRAME, 'base64')));
    expect(frame).to.deep.include({ type: 'webhook', id: 7 });
    if (frame.type !== 'webhook') throw new Error('not a webhook frame');
    expect(frame.job).to.deep.include({ url: 'http://127.0.0.1:8080/{kind}', format: 'json', timeout: 5000, secret: 's3cret', deliveryId: 'msg_0123456789abcdef' });
    expect(frame.job.stanza.name).to.equal('message');
  });

  it('writes {reply, Id, {webhook_done, Status, none}} and {webhook_failed, Reason, Detail}', () => {
    const done = decode(encodeTerm(webhookReplyFrame(3, { kind: 'webhook_done', status: 204, reply: null })));
    expect(JSON.stringify(done)).to.equal(JSON.stringify(decode(encodeTerm(new Tuple(atom('reply'), 3, new Tuple(atom('webhook_done'), 204, atom('none')))))));
    const failed = decode(encodeTerm(webhookReplyFrame(3, { kind: 'webhook_failed', reason: 'timeout', detail: 'x' })));
    expect(failed).to.be.instanceOf(Tuple);
    const action = (failed as Tuple).items[2] as Tuple;
    expect(action.items.map((i) => (i instanceof Atom ? i.name : String(i)))).to.deep.equal(['webhook_failed', 'timeout', 'x']);
  });

  it('fills {kind} {type} {to} {from} into the URL, URL-encoded', () => {
    expect(webhookUrl('http://h/{kind}/{type}?to={to}&from={from}', MESSAGE)).to.equal(
      'http://h/message/chat?to=echo%40bot.localhost&from=alice%40localhost%2Fdesk',
    );
    expect(webhookUrl('http://h/{type}', el('presence'))).to.equal('http://h/');
  });

  it('writes the body as XML or as Prosody JSON', () => {
    expect(webhookBody(MESSAGE, 'xml')).to.deep.include({ contentType: 'application/xmpp+xml' });
    expect(webhookBody(MESSAGE, 'xml').body.toString()).to.include('<body>hi &amp; bye</body>');
    const json = webhookBody(MESSAGE, 'json');
    expect(json.contentType).to.equal('application/json');
    expect(JSON.parse(json.body.toString())).to.deep.include({ kind: 'message', type: 'chat', to: 'echo@bot.localhost', body: 'hi & bye' });
  });

  it('signs with HMAC-SHA256 (RFC 4231-style known vector)', () => {
    expect(signature('key', Buffer.from('The quick brown fox jumps over the lazy dog'))).to.equal(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it('reads answers: 202/204/empty are no reply, a 200 body is the stanza in XML or JSON, garbage is bad_answer', () => {
    expect(readAnswer(204, undefined, Buffer.alloc(0))).to.deep.equal({ kind: 'webhook_done', status: 204, reply: null });
    expect(readAnswer(202, 'application/json', Buffer.from('{"body":"x"}'))).to.deep.include({ reply: null });
    expect(readAnswer(500, 'text/plain', Buffer.from('boom'))).to.deep.equal({ kind: 'webhook_done', status: 500, reply: null });
    const xmlReply = readAnswer(200, 'application/xmpp+xml; charset=utf-8', Buffer.from('<message><body>yo</body></message>'));
    expect(xmlReply.kind === 'webhook_done' && xmlReply.reply?.name).to.equal('message');
    const jsonReply = readAnswer(200, 'application/json', Buffer.from('{"body":"yo"}'));
    expect(jsonReply.kind === 'webhook_done' && jsonReply.reply?.name).to.equal('message');
    expect(readAnswer(200, 'application/xmpp+xml', Buffer.from('<<<'))).to.deep.include({ kind: 'webhook_failed', reason: 'bad_answer' });
    expect(readAnswer(200, 'application/json', Buffer.from('{'))).to.deep.include({ kind: 'webhook_failed', reason: 'bad_answer' });
    expect(readAnswer(200, 'text/html', Buffer.from('<p>hi</p>'))).to.deep.include({ kind: 'webhook_failed', reason: 'bad_answer' });
  });

  describe('over HTTP on loopback', () => {
    let server: http.Server;
    let base = '';
    const seen: http.IncomingHttpHeaders[] = [];
    before((done) => {
      server = http.createServer((req, res) => {
        seen.push(req.headers);
        req.resume();
        if (req.url === '/slow') setTimeout(() => res.writeHead(204).end(), 1000);
        else if (req.url === '/big') res.writeHead(200, { 'Content-Type': 'application/xmpp+xml' }).end(Buffer.alloc(MAX_ANSWER_BYTES + 10, 'a'));
        else if (req.url === '/redirect') res.writeHead(302, { Location: '/elsewhere' }).end();
        else res.writeHead(204).end();
      });
      server.listen(0, '127.0.0.1', () => {
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        done();
      });
    });
    after((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });
    const job = (url: string, extra: Partial<WebhookJob> = {}): WebhookJob => ({ url, format: 'xml', timeout: 300, stanza: MESSAGE, deliveryId: 'msg_1', ...extra });

    it('POSTs with the signature header when a secret is set, and none without', async () => {
      expect(await callWebhook(job(`${base}/ok`, { secret: 'k' }))).to.deep.equal({ kind: 'webhook_done', status: 204, reply: null });
      const body = webhookBody(MESSAGE, 'xml').body;
      expect(seen.at(-1)!['x-mod-rest-signature']).to.equal(signature('k', body));
      await callWebhook(job(`${base}/ok`));
      expect(seen.at(-1)!['x-mod-rest-signature']).to.equal(undefined);
      expect(seen.at(-1)!['webhook-signature']).to.equal(undefined);
    });

    it('sends the delivery id and the attempt\'s time, and signs them with the body (Standard Webhooks)', async () => {
      const before = Math.floor(Date.now() / 1000);
      await callWebhook(job(`${base}/ok`, { secret: 'k', deliveryId: 'msg_abc' }));
      const headers = seen.at(-1)!;
      const timestamp = Number(headers['webhook-timestamp']);
      expect(headers['webhook-id']).to.equal('msg_abc');
      expect(timestamp).to.be.within(before, Math.floor(Date.now() / 1000));
      const body = webhookBody(MESSAGE, 'xml').body;
      expect(headers['webhook-signature']).to.equal(standardSignature('k', 'msg_abc', timestamp, body));
      await callWebhook(job(`${base}/ok`, { deliveryId: 'msg_unsigned' }));
      expect(seen.at(-1)!['webhook-id'], 'unsigned calls carry the id too').to.equal('msg_unsigned');
    });

    it('gives up at the deadline', async () => {
      const started = Date.now();
      expect(await callWebhook(job(`${base}/slow`))).to.deep.include({ kind: 'webhook_failed', reason: 'timeout' });
      expect(Date.now() - started).to.be.below(900);
    });

    it('refuses an answer larger than MAX_ANSWER_BYTES', async () => {
      expect(await callWebhook(job(`${base}/big`, { timeout: 5000 }))).to.deep.include({ kind: 'webhook_failed', reason: 'too_large' });
    });

    it('does not follow redirects: a 302 is an answer like any other status', async () => {
      expect(await callWebhook(job(`${base}/redirect`))).to.deep.equal({ kind: 'webhook_done', status: 302, reply: null });
    });

    it('says unreachable when nothing listens', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      expect(await callWebhook(job(`http://127.0.0.1:${port}/`))).to.deep.include({ kind: 'webhook_failed', reason: 'unreachable' });
    });
  });
});
