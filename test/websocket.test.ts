// WebSocket under reload and shutdown, with the `ws` client against examples/ws-chat: clients are
// closed with 1001 when their worker drains, new connections land on the new generation, upgrades
// on a draining worker are refused with 503, and the deadline cuts what the app leaves open.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import type { StatusReport } from '../src/supervisor/supervisor.ts';
import { appPath, control, ROOT, startServer } from './helpers/pounce.ts';

const CHAT = path.join(ROOT, 'examples/ws-chat/app.ts');

interface Client {
  ws: WebSocket;
  worker: number;
  messages: { type: string; text?: string }[];
  closed: Promise<{ code: number; reason: string }>;
}

function openClient(url: string, route = '/chat'): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + route);
    const messages: Client['messages'] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: String(reason) })),
    );
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; worker: number };
      if (message.type === 'welcome') resolve({ ws, worker: message.worker, messages, closed });
      else messages.push(message);
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

async function workerPids(t: Parameters<typeof control>[0], server: { control: string }): Promise<number[]> {
  const s = JSON.parse((await control(t, server, 'status', ['--json'])).stdout) as StatusReport;
  return s.workers.map((w) => w.pid);
}

describe('WebSocket', () => {
  test('messages round-trip through the upgrade handler', async (t) => {
    const server = await startServer(t, CHAT);
    const client = await openClient(server.url);
    const reply = new Promise((resolve) => client.ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    client.ws.send('hello');
    assert.deepEqual(await reply, { type: 'message', text: 'hello', worker: client.worker });
    client.ws.close();
  });

  test('reload: clients are closed with 1001, new connections land on the new generation', async (t) => {
    const server = await startServer(t, CHAT, ['--workers', '2']);
    const clients = await Promise.all(Array.from({ length: 4 }, () => openClient(server.url)));
    const oldPids = await workerPids(t, server);
    assert.equal((await control(t, server, 'reload')).code, 0);
    for (const client of clients) {
      assert.deepEqual(await client.closed, { code: 1001, reason: 'server reloading' });
    }
    const newPids = await workerPids(t, server);
    const fresh = await openClient(server.url);
    assert.ok(
      newPids.includes(fresh.worker) && !oldPids.includes(fresh.worker),
      'the new connection is on generation 1',
    );
    await server.waitForEvent('reloadComplete');
    fresh.ws.close();
  });

  test('shutdown: clients are closed with 1001, then the process exits 0', async (t) => {
    const server = await startServer(t, CHAT);
    const client = await openClient(server.url);
    server.signal('SIGTERM');
    assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
    assert.equal((await server.exited).code, 0);
  });

  test('a socket the app leaves open is cut at the deadline; a new upgrade on a draining worker gets 503', async (t) => {
    const server = await startServer(t, appPath('ws-stubborn.mjs'), ['--shutdown-timeout', '1.5']);
    const client = await openClient(server.url, '/');
    server.signal('SIGTERM');
    await server.waitForEvent('workerDraining');
    await assert.rejects(openClient(server.url, '/'), /unexpected response 503/);
    const closed = await client.closed;
    assert.equal(closed.code, 1006, 'destroyed, not closed by the app');
    assert.equal((await server.exited).code, 0);
    assert.ok(server.logs.some((l) => l.event === 'workerForce'));
  });
});
