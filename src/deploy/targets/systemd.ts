// `pounce generate systemd`: the Type=notify service of docs/systemd.md, with TimeoutStopSec from
// stopWaitSeconds() and the timing options in Environment= so the service runs with the values the
// timeout was computed from.

import {
  GENERATED_BY,
  type GenerateContext,
  type GeneratedFile,
  requireApp,
  runtimeEnv,
} from '../context.ts';
import { STOP_MARGIN_SECONDS, stopWaitSeconds } from '../timings.ts';

export function systemd({ config, name, app }: GenerateContext): GeneratedFile[] {
  const entry = requireApp(app, 'systemd');
  const dir = `/srv/${name}`;
  const env = runtimeEnv(config, { container: false })
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const content = `# ${GENERATED_BY('systemd')}
# /etc/systemd/system/${name}.service
[Unit]
Description=${name} (pounce)
After=network.target

[Service]
Type=notify
# Only needed when pounce runs on Node < 26.1 (see docs/systemd.md).
NotifyAccess=all
User=${name}
WorkingDirectory=${dir}
Environment=${env}
ExecStart=${dir}/node_modules/.bin/pounce serve ${entry}
ExecReload=${dir}/node_modules/.bin/pounce reload
# shutdownDelay + shutdownTimeout + shutdownHookTimeout + ${STOP_MARGIN_SECONDS} s of pounce's own slack and exit:
# systemd never kills pounce before pounce's own deadline.
TimeoutStopSec=${stopWaitSeconds(config)}
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;
  return [{ path: `${name}.service`, content }];
}
