// `--reload`: watch the working directory (and reloadDirs) and reload through the supervisor's
// generational path when source files change, so a file saved with a syntax error is reported and
// the previous code keeps serving.
//
// chokidar rather than fs.watch: fs.watch({ recursive: true }) on Linux is Node's own JavaScript
// walk over inotify and reports editors' save patterns (write a temp file, rename it over the
// original) as rename events on the temp name, which then has to be matched back; chokidar turns
// those into one change of the real file (its `atomic` handling), follows directories created after
// the start, and lets the ignore rules prune node_modules before it is walked at all.

import { watch } from 'chokidar';
import type { Config } from '../config/options.ts';
import { configError } from '../errors.ts';

const { existsSync, statSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');

export const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'] as const;
/** Dependencies, VCS data and build output: never a reason to reload, and expensive to watch. */
export const IGNORED_DIRECTORIES = ['node_modules', '.git', 'dist', 'build', 'coverage'] as const;
/** A burst of saves (format-on-save, a branch switch) within this quiet time is one reload. */
export const DEBOUNCE_MS = 200;

export interface Watcher {
  readonly dirs: readonly string[];
  readonly extensions: readonly string[];
  close(): Promise<void>;
}

export interface WatchOptions {
  cwd: string;
  config: Pick<Config, 'reloadDirs' | 'reloadInclude'>;
  /** Called once per burst of changes, with the changed files (relative to cwd where possible). */
  onChange: (files: string[]) => void;
  onError: (error: Error) => void;
}

/** The directories to watch; a reloadDirs entry that is not a directory is a configuration error. */
export function watchedDirs(cwd: string, reloadDirs: readonly string[]): string[] {
  const dirs = [path.resolve(cwd)];
  for (const dir of reloadDirs) {
    const full = path.resolve(cwd, dir);
    if (!existsSync(full) || !statSync(full).isDirectory()) {
      throw configError(
        `Invalid reloadDirs: ${JSON.stringify(dir)} is not a directory (resolved to ${full})`,
      );
    }
    if (!dirs.some((d) => full === d || full.startsWith(`${d}${path.sep}`))) dirs.push(full);
  }
  return dirs;
}

/**
 * True for a path under an ignored directory. Only the part below the watched root counts: a
 * project that itself lives in a directory called `build` is still watched.
 */
export function isIgnored(file: string, roots: readonly string[]): boolean {
  const root = roots.find((r) => file === r || file.startsWith(`${r}${path.sep}`));
  if (!root) return false;
  const parts = path.relative(root, file).split(path.sep);
  return parts.some((part) => (IGNORED_DIRECTORIES as readonly string[]).includes(part));
}

export async function watchForChanges(options: WatchOptions): Promise<Watcher> {
  const dirs = watchedDirs(options.cwd, options.config.reloadDirs);
  const extensions = [...new Set([...SOURCE_EXTENSIONS, ...options.config.reloadInclude])];
  const wanted = (file: string) => extensions.includes(path.extname(file));

  const watcher = watch(dirs, {
    ignoreInitial: true,
    // Directories are needed to descend; files only with a watched extension.
    ignored: (file, stats) => isIgnored(file, dirs) || (stats?.isFile() === true && !wanted(file)),
  });

  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const changed = (file: string) => {
    if (!wanted(file) || isIgnored(file, dirs)) return;
    pending.add(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...pending].map((f) => path.relative(options.cwd, f) || f);
      pending = new Set();
      options.onChange(files);
    }, DEBOUNCE_MS);
  };
  watcher.on('add', changed);
  watcher.on('change', changed);
  watcher.on('unlink', changed);
  watcher.on('error', (err) => options.onError(err instanceof Error ? err : new Error(String(err))));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  return {
    dirs,
    extensions,
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
