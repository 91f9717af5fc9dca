import { bodyOf, messageXml, post, startSandbox, stopSandbox, unique, XmppUser } from './support.js';
describe('dbg', function () {
  it('big', async function () {
    const sb = await startSandbox('dbg', { users: [['alice', 'pw']] });
    try {
      const alice = await XmppUser.login(sb, 'alice', 'pw');
      for (const unit of ['abcdefghij\n', 'é€𝄞 ', '<&>"', 'abc']) {
        const marker = unique('big');
        let text = `${marker} `;
        while (Buffer.byteLength(text) < 1024 * 1024) text += unit;
        let t = Date.now();
        const reply = await post(sb, messageXml('alice@localhost', 'localhost/rest', text));
        console.log(JSON.stringify(unit), reply.status, 'post ms', Date.now() - t); t = Date.now();
        const got = await alice.waitFor((s) => (bodyOf(s) ?? '').startsWith(marker), 30_000);
        console.log('recv ms', Date.now() - t);
        const b = bodyOf(got)!;
        console.log(b.length, text.length);
        for (let i = 0; i < Math.min(b.length, text.length); i++) if (b[i] !== text[i]) { console.log('diff at', i, JSON.stringify(text.slice(i - 10, i + 20)), JSON.stringify(b.slice(i - 10, i + 20))); break; }
      }
      await alice.stop();
    } finally { await stopSandbox(sb, true); }
  });
});
