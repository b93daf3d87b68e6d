// Thread mode and net.ipv4.tcp_migrate_req. Every thread has its own SO_REUSEPORT listener, and the
// kernel hashes each new connection to one of them. When an old thread closes its listener (a
// reload, a replacement, a shutdown), the connections the kernel already queued on it and the
// thread had not accepted yet are reset — unless tcp_migrate_req is 1 (Linux ≥ 5.14), which moves
// them to another listener of the same port. The sysctl is per network namespace (a container has
// its own).

const { readFileSync } = process.getBuiltinModule('node:fs');
const SYSCTL = '/proc/sys/net/ipv4/tcp_migrate_req';

/** '1', '0', or undefined when the kernel has no such setting (older than 5.14, not Linux). */
export function readMigrateReq(file = SYSCTL): '0' | '1' | undefined {
  try {
    const value = readFileSync(file, 'utf8').trim();
    return value === '0' ? '0' : '1';
  } catch {
    return undefined;
  }
}

/** Why thread mode may reset connections during a reload here, and how to fix it; undefined when fine. */
export function migrateReqWarning(value = readMigrateReq()): string | undefined {
  if (value === '1') return undefined;
  const cost =
    'workerMode "thread": when an old thread closes its SO_REUSEPORT listener (reload, replacement, shutdown), connections queued on it and not yet accepted are reset';
  if (value === undefined)
    return `${cost}: this kernel has no net.ipv4.tcp_migrate_req (Linux ≥ 5.14 moves them to another listener); use workerMode "process" for zero-drop reloads`;
  return `${cost}, because net.ipv4.tcp_migrate_req is 0. Set it to 1 (in the server's network namespace): sysctl -w net.ipv4.tcp_migrate_req=1 (persist it in /etc/sysctl.d/), Kubernetes: securityContext.sysctls [{name: net.ipv4.tcp_migrate_req, value: "1"}] (a namespaced sysctl the kubelet must allow with --allowed-unsafe-sysctls), systemd: a sysctl.d file, or ExecStartPre=+/usr/sbin/sysctl -w net.ipv4.tcp_migrate_req=1`;
}
