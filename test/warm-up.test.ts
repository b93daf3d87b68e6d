// The warm-up of a worker that starts while others serve (src/worker/warm-up.ts): its throwaway
// server answers the requests and is gone afterwards — nothing of it is left listening or
// connected in the worker that then serves the app.

import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { test } from 'node:test';
import { warmUpHttp } from '../src/worker/warm-up.ts';

const handles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;

test('the warm-up answers its requests and leaves no server or connection behind', async () => {
  const before = handles();
  let answered = 0;
  // Every response Node's HTTP server finishes is published on this channel.
  const count = () => answered++;
  diagnostics.subscribe('http.server.response.finish', count);
  try {
    await warmUpHttp(40);
  } finally {
    diagnostics.unsubscribe('http.server.response.finish', count);
  }
  assert.equal(answered, 40);
  // Closing sockets is asynchronous: their handles go on the next turns of the loop.
  for (let i = 0; i < 20 && handles() > before; i++) await new Promise((r) => setImmediate(r));
  assert.equal(handles(), before, 'no listening socket or connection is left');
});
