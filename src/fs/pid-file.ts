// The supervisor's pid file. It is written by pounce's user (often root) into a directory the user
// chose, so it is written the careful way: the directory must be trustworthy (no other user can
// swap what is in it; see private-dir.ts), the file is opened without following a symlink (one
// planted at that name would otherwise make root overwrite any file), and a file that is already
// there must belong to this user.

import { closeSync, constants, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { configError, PounceError } from '../errors.ts';
import { checkTrustedPath } from './private-dir.ts';

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
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new Error('it is not a regular file');
    if (uid !== undefined && st.uid !== uid)
      throw new Error(`it belongs to uid ${st.uid}, not to this user (uid ${uid})`);
    const text = Buffer.from(`${process.pid}\n`);
    writeSync(fd, text, 0, text.length, 0);
    // Truncate only now: a file that failed the checks above is left as it was.
    ftruncateSync(fd, text.length);
  } catch (err) {
    const message =
      (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'it is a symbolic link' : (err as Error).message;
    throw configError(`Invalid pidFile ${JSON.stringify(shownAs)}: cannot write it (${message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
