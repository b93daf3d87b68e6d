// The public API of the `pounce` package.

export type { DrainReason, ServerEvent, ServerEventListener } from './app/lifecycle.ts';
export {
  drainSignal,
  onDrain,
  onReadinessCheck,
  onServerEvent,
  onShutdown,
  onStartup,
} from './app/lifecycle.ts';
export type { Config, UserConfig } from './config/options.ts';
export { ErrorCode, ExitCode, PounceError } from './errors.ts';
export type { PounceServer, ServeOptions } from './serve.ts';
export { serve } from './serve.ts';
export { requestSignal } from './server/request-signal.ts';

import type { UserConfig } from './config/options.ts';

/** Types a `pounce.config.ts` file: `export default defineConfig({ workers: 4 })`. */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
