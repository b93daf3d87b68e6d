// The supervisor's pid file. It is written by pounce's user (often root) into a directory the user
// chose, so it is written the careful way: the directory must be trustworthy (no other user can
// swap what is in it; see private-dir.ts), the file is opened without following a symlink (one
// planted at that name would otherwise make root overwrite any file), and a file that is already
// there must belong to this user. In a sticky shared directory (like /tmp) another user can still
// plant a name before pounce starts: a FIFO (opening it for writing would block the start forever,
// so it is opened non-blocking and refused), or a hard link to a file of this user (pounce would
// overwrite that file through it, so a file with more than one link is refused).

import { configError, PounceError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { checkTrustedPath } from './private-dir.ts';

const { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readFileSync, writeSync } =
  process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');

export function writePidFile(file: string, shownAs: string): void {
  try {
    checkTrustedPath(path.dirname(file), {
      what: `The directory of pidFile ${JSON.stringify(shownAs)}`,
      advice: 'another user could replace the pid file; choose a directory only this user and root can write',
    });
  } catch (err) {
    if (err instanceof PounceError) throw err;
    throw configError(
      `Invalid pidFile ${JSON.stringify(shownAs)}: cannot write it (${(err as Error).message})`,
    );
  }
  let fd: number | undefined;
  try {
    fd = openSync(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o644,
    );
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new Error('it is not a regular file');
    if (st.nlink !== 1)
      throw new Error(`it has ${st.nlink} hard links: another name points at the same file`);
    if (uid !== undefined && st.uid !== uid)
      throw new Error(`it belongs to uid ${st.uid}, not to this user (uid ${uid})`);
    const text = Buffer.from(`${process.pid}\n`);
    writeSync(fd, text, 0, text.length, 0);
    // Truncate only now: a file that failed the checks above is left as it was.
    ftruncateSync(fd, text.length);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP is O_NOFOLLOW's answer; with fs.protected_symlinks the kernel may say EACCES first.
    // ENXIO: a FIFO that nobody reads (what O_NONBLOCK turns the endless wait into).
    const message =
      code === 'ELOOP' || (code === 'EACCES' && isSymlink(file))
        ? 'it is a symbolic link'
        : code === 'ENXIO'
          ? 'it is not a regular file'
          : (err as Error).message;
    throw configError(`Invalid pidFile ${JSON.stringify(shownAs)}: cannot write it (${message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * After an upgrade whose new supervisor wrote its pid and then failed to take over: the pid file
 * names this process again (rewritten only if it names another; a failure is logged, not thrown —
 * the server keeps serving).
 */
export function reclaimPidFile(file: string, shownAs: string, log: Logger): void {
  try {
    if (readFileSync(file, 'utf8') === `${process.pid}\n`) return;
  } catch {
    // gone (the new supervisor removed it as it exited): write it again
  }
  try {
    writePidFile(file, shownAs);
    log.event('pidFileReclaimed', { file });
  } catch (err) {
    log.event('pidFileReclaimFailed', { file, error: (err as Error).message });
  }
}
