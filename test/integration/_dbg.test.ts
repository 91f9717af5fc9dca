import { bodyOf, messageXml, post, startSandbox, stopSandbox, unique, XmppUser } from './support.js';
describe('dbg', function () {
  it('big', async function () {
    let t = Date.now();
    const sb = await startSandbox('dbg', { users: [['alice', 'pw']] });
    console.log('start', Date.now() - t); t = Date.now();
    try {
      const alice = await XmppUser.login(sb, 'alice', 'pw');
      console.log('login', Date.now() - t); t = Date.now();
      for (const unit of ['abcdefghijklmnopqrstuvwxyz0123456789 é€𝄞 <&>"\n']) {
        const marker = unique('big');
        let text = `${marker} `;
        while (Buffer.byteLength(text) < 1024 * 1024) text += unit;
        let t = Date.now();
        const reply = await post(sb, messageXml('alice@localhost', 'localhost/rest', text));
        console.log(JSON.stringify(unit), reply.status, 'post ms', Date.now() - t); t = Date.now();
        const got = await alice.waitFor((s) => (bodyOf(s) ?? '').startsWith(marker), 30_000);
        console.log('recv ms', Date.now() - t);
        const b = bodyOf(got)!;
        console.log(b.length, text.length, b === text);
      }
      t = Date.now();
      await alice.stop();
      console.log('logout', Date.now() - t); t = Date.now();
    } finally { await stopSandbox(sb, true); console.log('stop', Date.now() - t); }
  });
});
