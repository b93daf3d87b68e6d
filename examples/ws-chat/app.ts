// A WebSocket chat that behaves well across reloads and shutdowns.
//   pounce serve examples/ws-chat/app.ts   then open http://127.0.0.1:8000/
//
// WebSocket upgrades reach the `upgrade` export; the `ws` library does the protocol. When this
// worker drains (reload or shutdown) every client is closed with 1001 "going away"; the page
// reconnects, and on a reload the new connection lands on the new generation. (Messages are
// broadcast within one worker; with several workers use a pub/sub such as Redis between them.)

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { onDrain } from 'pounce';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ noServer: true });

wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'welcome', worker: process.pid }));
  ws.on('message', (data) => {
    const message = JSON.stringify({ type: 'message', text: String(data), worker: process.pid });
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(message);
  });
});

onDrain((reason) => {
  for (const client of wss.clients)
    client.close(1001, reason === 'reload' ? 'server reloading' : 'server shutting down');
});

export function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/chat') {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>pounce chat</title>
<pre id="log"></pre><form id="f"><input id="t" autofocus><button>send</button></form>
<script>
  const log = (line) => { document.getElementById('log').textContent += line + '\\n'; };
  let ws;
  function connect() {
    ws = new WebSocket('ws://' + location.host + '/chat');
    ws.onmessage = (e) => { const m = JSON.parse(e.data); log(m.type === 'welcome' ? 'connected to worker ' + m.worker : m.worker + ': ' + m.text); };
    ws.onclose = (e) => { log('closed (' + e.code + ' ' + e.reason + '), reconnecting'); setTimeout(connect, 500); };
  }
  connect();
  document.getElementById('f').onsubmit = (e) => { e.preventDefault(); ws.send(document.getElementById('t').value); document.getElementById('t').value = ''; };
</script>`;

export default function app(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(PAGE);
}
