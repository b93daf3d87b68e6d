// Unix socket paths have a hard length limit (sun_path): 108 bytes on Linux, 104 on macOS and the
// BSDs, both including the terminating NUL. A longer path cannot be bound, and Node's error for
// it does not say so; pounce checks it up front and names the limit. Also: whether a unix socket
// path has a live listener (a stale socket file can be replaced; a live one must be left alone).

const net = process.getBuiltinModule('node:net');
export const UNIX_SOCKET_PATH_LIMIT = process.platform === 'linux' ? 107 : 103;

/** "path too long: 130 bytes, limit 107" for a path that cannot be a unix socket, else undefined. */
export function socketPathTooLong(socketPath: string): string | undefined {
  const bytes = Buffer.byteLength(socketPath);
  return bytes > UNIX_SOCKET_PATH_LIMIT
    ? `path too long: ${bytes} bytes, limit ${UNIX_SOCKET_PATH_LIMIT}`
    : undefined;
}

/**
 * Resolves true if a server listens on the unix socket `socketPath`: it accepts the connection, or
 * its queue of connections not yet accepted is full — Linux then answers EAGAIN, not ECONNREFUSED
 * (a busy or stopped server, or a local user filling the queue on purpose; taking that for a stale
 * socket would remove a live server's socket file).
 */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EAGAIN'));
  });
}
