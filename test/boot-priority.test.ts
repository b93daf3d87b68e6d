// A worker that boots while others serve runs at the lowest CPU priority until it listens, then at
// the supervisor's own (src/supervisor/boot-priority.ts) — when the supervisor may give a priority
// back (CAP_SYS_NICE or RLIMIT_NICE); otherwise no worker's priority is ever changed. Read from
// /proc on real processes during a reload.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { allowedCpus, cpuNumbers, sameCpus, tasksetPath, threadCpus } from '../src/cpu-affinity.ts';
import { chrtPath, SCHED_IDLE, threadPolicies } from '../src/sched-idle.ts';
import { bootHalf } from '../src/supervisor/boot-cpus.ts';
import { BOOT_NICE, bootPriority } from '../src/supervisor/boot-priority.ts';
import { appPath, POUNCE_COMMAND, scratchDir, startServer } from './helpers/pounce.ts';

/** SCHED_OTHER (linux/sched.h): the normal policy. */
const SCHED_OTHER = 0;

/** The nice value of every thread of `pid` (field 19 of /proc/PID/task/TID/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // the thread ended
    }
  });
}

test('a reload boots its new worker at low priority and serves at the normal one', {
  skip: process.platform !== 'linux' && 'nice values per thread: Linux',
}, async (t) => {
  const gate = scratchDir(t, 'pounce-gate-');
  const server = await startServer(t, appPath('gated-start.ts'), ['--workers', '1', '--log-level', 'debug'], {
    env: { GATE_DIR: gate },
  });
  const normal = os.getPriority(server.pid);
  const [first] = server.logs.filter((l) => l.event === 'workerSpawned');
  assert.deepEqual(
    new Set(threadNices(Number(first!.pid))),
    new Set([normal]),
    'generation 0 boots as usual',
  );

  writeFileSync(path.join(gate, 'armed'), '');
  server.signal('SIGHUP');
  const held = await server.waitForEvent('appGated');
  const booting = threadNices(Number(held.pid));
  const bootingPolicies = threadPolicies(Number(held.pid));
  // What this host allows decides which promise holds; either way one of them is checked.
  const lowered = bootPriority() !== undefined;
  if (lowered) {
    // From the fork on: every thread Node started inherited it.
    assert.deepEqual(new Set(booting), new Set([BOOT_NICE]), `every thread boots at ${BOOT_NICE}`);
    if (chrtPath())
      assert.deepEqual(
        new Set(bootingPolicies),
        new Set([SCHED_IDLE]),
        'every thread boots under SCHED_IDLE',
      );
  } else {
    assert.deepEqual(new Set(booting), new Set([normal]), 'without the right to restore it, never lowered');
    assert.ok(!bootingPolicies.includes(SCHED_IDLE), 'nor put under SCHED_IDLE');
  }

  writeFileSync(path.join(gate, 'open'), '');
  await server.waitForEvent('drainingOld');
  assert.deepEqual(
    new Set(threadNices(Number(held.pid))),
    new Set([normal]),
    'every thread serves at the supervisor’s priority',
  );
  assert.deepEqual(
    new Set(threadPolicies(Number(held.pid))),
    new Set([SCHED_OTHER]),
    'under the normal policy',
  );
  assert.equal((await fetch(server.url)).status, 200);
});

/** True if every thread of `pid` may run on exactly the CPUs of `list`. */
function everyThreadOn(pid: number, list: string): boolean {
  const lists = threadCpus(pid);
  return lists.length > 0 && lists.every((l) => sameCpus(l, list));
}

test('a reload boots its new worker on part of the CPUs while the workers are busy, on every CPU when idle', {
  skip: process.platform !== 'linux' && 'CPU affinity per thread: Linux',
}, async (t) => {
  // One busy worker keeps about one CPU busy, and a boot is held when the serving workers use
  // BUSY_SHARE of the supervisor's CPUs: on a machine with many CPUs the server runs on two of them
  // (taskset), where one busy worker is enough.
  const taskset = tasksetPath();
  const machine = cpuNumbers(allowedCpus('self')!) ?? [];
  const numbers = taskset && machine.length > 2 ? machine.slice(0, 2) : machine;
  const all = numbers.join(',');
  // Held only where the boot is lowered at all, taskset exists and there is more than one CPU.
  const holds = bootPriority() !== undefined && taskset !== undefined && numbers.length > 1;
  const gate = scratchDir(t, 'pounce-gate-');
  const server = await startServer(t, appPath('gated-start.ts'), ['--workers', '1', '--log-level', 'debug'], {
    env: { GATE_DIR: gate },
    ...(numbers.length < machine.length ? { command: [taskset!, '-c', all, ...POUNCE_COMMAND] } : {}),
  });
  writeFileSync(path.join(gate, 'armed'), '');

  // Idle: nothing to protect, the boot keeps every CPU (a held boot would only take longer).
  server.signal('SIGHUP');
  const idle = Number((await server.waitForEvent('appGated')).pid);
  assert.ok(
    everyThreadOn(idle, all),
    `on an idle server every thread boots on CPUs ${all}: ${threadCpus(idle)}`,
  );
  writeFileSync(path.join(gate, 'open'), '');
  await server.waitForEvent('reloadComplete');
  rmSync(path.join(gate, 'open'));

  // Busy: requests that each keep the worker's CPU busy for 20 ms, four at a time (always one
  // waiting, so the worker never idles between them even when this process is slow to send the
  // next, on a machine busy with other work), for three of the supervisor's 1 s load samples (the
  // load is measured, not announced).
  let busy = true;
  const loop = async () => {
    while (busy) await (await fetch(`${server.url}/spin`)).text();
  };
  const loops = [loop(), loop(), loop(), loop()];
  t.after(() => {
    busy = false;
  });
  await new Promise((r) => setTimeout(r, 3_000));
  server.signal('SIGHUP');
  await server.waitForCount('appGated', 2);
  busy = false;
  await Promise.all(loops);
  const held = Number(server.logs.filter((l) => l.event === 'appGated')[1]!.pid);
  if (holds) {
    const boot = bootHalf(numbers);
    assert.ok(
      everyThreadOn(held, boot),
      `under load every thread boots on CPUs ${boot}: ${threadCpus(held)}`,
    );
    assert.ok(
      server.logs.some((l) => l.event === 'bootCpus'),
      'and the supervisor says so',
    );
  } else {
    assert.ok(everyThreadOn(held, all), `where the boot cannot be held, on CPUs ${all}: ${threadCpus(held)}`);
  }

  writeFileSync(path.join(gate, 'open'), '');
  await server.waitForCount('drainingOld', 2);
  assert.ok(
    everyThreadOn(held, all),
    `every thread serves on the supervisor's CPUs ${all}: ${threadCpus(held)}`,
  );
  assert.equal((await fetch(server.url)).status, 200);
});
