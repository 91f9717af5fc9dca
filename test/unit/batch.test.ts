// SPDX-License-Identifier: GPL-2.0-or-later
// The batch stage (src/rest/batch.ts) through the pipeline: which requests are batches, how each
// body kind splits into items, what is refused alone and what refuses the whole request.
import { expect } from 'chai';
import { compilePolicy, handleRequest } from '../../src/rest/pipeline.js';
import type { Action, HostPolicy, RestRequest } from '../../src/rest/types.js';

const OPEN: HostPolicy = { allowedIps: [], allowedDestinations: [], allowedStanzaTypes: [], allowedSenders: null };
const XML_BATCH = 'application/vnd.mod-rest.stanzas+xml';

function run(body: string, contentType: string, policy: Partial<HostPolicy> = {}, over: Partial<RestRequest> = {}): Action {
  const req: RestRequest = { method: 'POST', path: [], body: Buffer.from(body), ip: '127.0.0.1', host: 'localhost', api: true, contentType, ...over };
  return handleRequest(req, compilePolicy({ ...OPEN, ...policy }));
}

/** Each item as 'send:<body text>' or its refusal's code. */
function outline(action: Action): string[] {
  if (action.kind !== 'send_batch') throw new Error(`not a batch: ${JSON.stringify(action).slice(0, 300)}`);
  return action.items.map((item) => {
    if (item.kind === 'refused') return item.code;
    const body = item.stanza.children.find((c) => typeof c !== 'string' && c.name === 'body');
    return `send:${body === undefined || typeof body === 'string' ? '' : String(body.children[0] ?? '')}`;
  });
}
const msg = (body: string) => ({ kind: 'message', to: 'bob@localhost', body });

describe('batch: many stanzas in one API request', () => {
  it('takes a JSON array, NDJSON and the XML batch type as batches; one JSON object stays one stanza', () => {
    expect(outline(run(JSON.stringify([msg('a'), msg('b')]), 'application/json'))).to.deep.equal(['send:a', 'send:b']);
    expect(outline(run(`\n${JSON.stringify(msg('a'))}\r\n\n${JSON.stringify(msg('b'))}`, 'application/x-ndjson'))).to.deep.equal(['send:a', 'send:b']);
    expect(outline(run("<message to='b@x'><body>a</body></message> <message to='b@x'><body>b</body></message>", XML_BATCH))).to.deep.equal(['send:a', 'send:b']);
    expect(run(JSON.stringify(msg('a')), 'application/json').kind).to.equal('send');
  });

  it('gives every sent item an id, and keeps one the client gave', () => {
    const action = run(JSON.stringify([msg('a'), { ...msg('b'), id: 'mine' }]), 'application/json');
    if (action.kind !== 'send_batch') throw new Error('not a batch');
    const ids = action.items.map((i) => (i.kind === 'send' ? i.stanza.attrs.find(([k]) => k === 'id')?.[1] : undefined));
    expect(ids[0]).to.be.a('string').with.length.above(0);
    expect(ids[1]).to.equal('mine');
  });

  it('refuses items alone: an iq, a bad line, a foreign namespace, the policy', () => {
    const items = [msg('a'), { kind: 'iq', to: 'localhost', ping: true }, { kind: 'presence', to: 'bob@localhost' }, { ...msg('c'), to: 'eve@localhost' }];
    expect(outline(run(JSON.stringify(items), 'application/json', { allowedStanzaTypes: ['message', 'iq'], allowedDestinations: ['bob@localhost'] })))
      .to.deep.equal(['send:a', 'BATCH_IQ', 'REJECTED', 'REJECTED']);
    expect(outline(run(`${JSON.stringify(msg('a'))}\n{nope\n[1]`, 'application/x-ndjson'))).to.deep.equal(['send:a', 'BAD_JSON', 'BAD_JSON_STANZA']);
    expect(outline(run("<message xmlns='jabber:server' to='b@x'/><foo/>", XML_BATCH))).to.deep.equal(['BAD_NAMESPACE', 'NOT_A_STANZA']);
  });

  it('refuses the whole request past api_max_batch_items, and a body that does not parse', () => {
    const three = JSON.stringify([msg('a'), msg('b'), msg('c')]);
    expect(run(three, 'application/json', { apiMaxBatchItems: 2 })).to.include({ kind: 'document', status: 413 });
    expect(outline(run(three, 'application/json', { apiMaxBatchItems: 3 }))).to.have.length(3);
    expect(run('[{"kind":', 'application/json')).to.include({ kind: 'document', status: 400 });
    expect(run("<message to='b@x'>", XML_BATCH)).to.include({ kind: 'document', status: 400 });
  });

  it('does not let an XML batch close its wrapper early, nor hide text between stanzas', () => {
    expect(run("<message to='b@x'/></mod-rest-batch><message to='c@x'/><mod-rest-batch>", XML_BATCH)).to.include({ kind: 'document', status: 400 });
    expect(run("<message to='b@x'/> text <message to='c@x'/>", XML_BATCH)).to.include({ kind: 'document', status: 400 });
    expect(run("<!DOCTYPE x><message to='b@x'/>", XML_BATCH)).to.include({ kind: 'document', status: 400 });
  });

  it('holds each XML item to max_xml_elements, not the whole batch', () => {
    const item = "<message to='b@x'><body>a</body></message>";
    expect(outline(run(item.repeat(5), XML_BATCH, { maxXmlElements: 2 }))).to.deep.equal(Array(5).fill('send:a'));
    expect(outline(run(`${item}<message to='b@x'><body>b</body><x/></message>`, XML_BATCH, { maxXmlElements: 2 }))).to.deep.equal(['send:a', 'TOO_MANY_ELEMENTS']);
  });

  it('is the API only: without credentials a batch is told to authenticate', () => {
    expect(run(JSON.stringify([msg('a')]), 'application/x-ndjson', {}, { api: false })).to.include({ kind: 'document', status: 401 });
  });
});
