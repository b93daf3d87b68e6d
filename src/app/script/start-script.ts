// Server scripts: modules that create and start their own server (`app.listen(3000)`, Next.js
// standalone's server.js, …) instead of exporting an app. The worker imports the script with its
// listen() calls captured (capture.ts), binds the script's HTTP server on pounce's listener whatever
// it asked for, puts the drain engine in front of it (adopt.ts), holds back its signal handlers
// (signals.ts) and its process.exit() during a drain (exit-guard.ts).
//
// Detection (interface auto, see servesExport): a module whose default/`app` export is an app is
// served as an export, as before, even if it also listened (that server is closed). A module that
// listened while imported, or that exports nothing, is a server script. Its worker is ready once its server listens AND its top-level import has settled:
// scripts that `await app.listen()` at top level settle after listening; others may listen later
// (after connecting to a database), which the worker waits for, up to startupTimeout.

import type { Config } from '../../config/options.ts';
import { pounceError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import { socketLife } from '../../server/drain-policy.ts';
import { DrainableServer, type ListenTarget } from '../../server/drainable-server.ts';
import { listenTarget, type RunningServer, runningServer } from '../../server/run-server.ts';
import { restoreBootPriority } from '../../worker/boot-priority.ts';
import { importModule } from '../load.ts';
import type { AppSpec } from '../resolve.ts';
import { adoptServer } from './adopt.ts';
import { captureListens } from './capture.ts';
import { guardAppExit } from './exit-guard.ts';
import { holdSignalHandlers } from './signals.ts';

/** The no-listen error fires this long before the worker's own startupTimeout, so it is the one reported. */
const NO_LISTEN_MARGIN_MS = 100;

export interface ScriptContext {
  workerId: number;
  inheritedFds: readonly { fd: number }[];
}

/**
 * Serves the module as a server script if it is one. Resolves undefined when it is not (interface
 * node or fetch, an export named with `PATH:NAME`, or in auto a module that exports an app): the
 * caller then loads the export as usual (the module is already imported: no second evaluation).
 */
export async function startScript(
  spec: AppSpec,
  config: Config,
  log: Logger,
  ctx: ScriptContext,
): Promise<{ server: RunningServer; asked: string } | undefined> {
  if (config.interface === 'node' || config.interface === 'fetch' || spec.exportName !== undefined)
    return undefined;
  const started = Date.now();
  const target: ListenTarget = ctx.inheritedFds[0] ? { fd: ctx.inheritedFds[0].fd } : listenTarget(config);
  // Most scripts read these; whatever they pass to listen() is replaced anyway.
  if ('port' in target) {
    process.env.PORT = String(target.port);
    process.env.HOST = target.host;
  }

  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  let onServing: (server: Promise<{ server: RunningServer; asked: string }>) => void = () => {};
  const serving = new Promise<{ server: RunningServer; asked: string }>((resolve) => {
    onServing = resolve;
  });
  serving.catch(() => {});

  const signals = holdSignalHandlers();
  const capture = captureListens({
    extraListeners: config.scriptExtraListeners,
    log,
    fail: (err) => fail(err),
    serve(server, asked) {
      const running = (async () => {
        if (ctx.inheritedFds.length > 1) {
          throw pounceError('SCRIPT_INHERITED_SOCKETS', { count: ctx.inheritedFds.length });
        }
        // The script listens now: a worker that booted at a low priority serves at its own.
        restoreBootPriority();
        const { handler, adopt } = adoptServer(server);
        const engine = new DrainableServer(handler, config, log, {
          workerId: ctx.workerId,
          adopt,
          socketLife: socketLife(ctx.inheritedFds),
        });
        const url = await engine.listen(target, config.backlog);
        // Per worker at debug; the supervisor says it once per generation (scriptListening).
        log.event('scriptWorkerListening', { worker: ctx.workerId, asked, url });
        return { server: runningServer(engine, url, config, log), asked };
      })();
      running.catch((err) => fail(err));
      onServing(running);
    },
  });

  const mod = await Promise.race([importModule(spec), failed]);
  if (config.interface === 'auto' && servesExport(mod, capture.served !== undefined)) {
    capture.stop();
    signals.release();
    if (capture.served) {
      log.event('scriptExportWins', { app: spec.text });
      void (await serving).server.drain('unused');
    }
    return undefined;
  }
  guardAppExit(log);
  const { noListen, timer } = noListenDeadline(spec, config, started, () => capture.served !== undefined);
  try {
    const served = await Promise.race([serving, failed, noListen]);
    if (signals.count) log.event('scriptSignalHandlers', { count: signals.count });
    // A script may still break the rules after it is ready (a second listener later on): that is a
    // crash of this worker, reported with its code.
    fail = (err) =>
      process.nextTick(() => {
        throw err;
      });
    return served;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `pounce check` on a module that may be a server script: imports it with its listen() calls
 * captured but never bound (nothing listens in the check process), and tells whether it is a server
 * script — resolving with what its listen() asked for — or an exported app (undefined: the caller
 * checks the export as usual). Rejects like the worker would: a first listener that is not HTTP, a
 * forbidden second listener, or no listen() within startupTimeout.
 */
export async function probeScript(
  spec: AppSpec,
  config: Config,
  log: Logger,
): Promise<{ asked: string } | undefined> {
  if (config.interface === 'node' || config.interface === 'fetch' || spec.exportName !== undefined)
    return undefined;
  const started = Date.now();
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  let onAsked: (asked: string) => void = () => {};
  const listened = new Promise<string>((resolve) => {
    onAsked = resolve;
  });
  const signals = holdSignalHandlers();
  const capture = captureListens({
    extraListeners: config.scriptExtraListeners,
    log,
    fail: (err) => fail(err),
    serve: (_server, asked) => onAsked(asked),
  });
  const mod = await Promise.race([importModule(spec), failed]);
  if (config.interface === 'auto' && servesExport(mod, capture.served !== undefined)) {
    capture.stop();
    signals.release();
    return undefined;
  }
  const { noListen, timer } = noListenDeadline(spec, config, started, () => capture.served !== undefined);
  try {
    return { asked: await Promise.race([listened, failed, noListen]) };
  } finally {
    clearTimeout(timer);
  }
}

/** SCRIPT_NO_LISTEN just before startupTimeout (so that it, not the generic timeout, is reported). */
function noListenDeadline(
  spec: AppSpec,
  config: Config,
  started: number,
  listened: () => boolean,
): { noListen: Promise<never>; timer: NodeJS.Timeout } {
  const deadline = config.startupTimeout * 1000 - (Date.now() - started) - NO_LISTEN_MARGIN_MS;
  let timer: NodeJS.Timeout | undefined;
  const noListen = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          pounceError('SCRIPT_NO_LISTEN', {
            module: spec.text,
            seconds: config.startupTimeout,
            served: listened(),
          }),
        ),
      Math.max(0, deadline),
    );
  });
  noListen.catch(() => {});
  return { noListen, timer: timer! };
}

/**
 * Interface auto: is this module an app to serve as an export rather than a server script? An
 * export that is an app wins, even if the module also listened. Otherwise a module that listened
 * while being imported is a script, and so is one that exports nothing at all (a CommonJS script's
 * untouched `module.exports` is `default: {}`): it may listen later, after its own async setup. A
 * module that exports something, none of it an app, and did not listen is left to the export loader:
 * its "export missing"/"not an app" error is the useful one, at once rather than after startupTimeout.
 */
function servesExport(mod: Record<string, unknown>, listened: boolean): boolean {
  const value = mod.default ?? mod.app;
  if (value !== undefined && !isEmptyObject(value) && looksLikeApp(value)) return true;
  if (listened) return false;
  const names = Object.keys(mod).filter((k) => k !== '__esModule' && k !== 'module.exports');
  return !names.every((k) => k === 'default' && isEmptyObject(mod.default));
}

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Object.keys(value).length === 0
  );
}

/** The shapes toHandler accepts (see shape.ts), told apart without running anything. */
function looksLikeApp(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  return (
    typeof o.fetch === 'function' ||
    typeof o.callback === 'function' ||
    typeof o.routing === 'function' ||
    looksLikeApp(o.app)
  );
}
