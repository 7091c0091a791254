import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Config } from '../config/env.js';
import { lockHolder } from '../storage/state/data-lock.js';
import { copyDataDir, copyFolder, type Progress } from './copy.js';
import { FOLDERS, listFiles, MANIFEST_FILE, type Folder, type Manifest } from './manifest.js';

/** What `npm run backup` works from: the gateway's settings, the release that writes, where to. */
export interface BackupOptions {
  config: Pick<Config, 'dataDir' | 'rulesDir' | 'profilesDir' | 'sitesDir'>;
  release: string;
  dir: string;
  progress: Progress;
}

/** A problem the person running the backup or restore must fix; its message says what and where. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** Where each folder of a backup comes from (and goes back to), by the gateway's settings. */
export function folderPaths(config: BackupOptions['config']): Record<Folder, string> {
  return { data: resolve(config.dataDir), rules: resolve(config.rulesDir), profiles: resolve(config.profilesDir), sites: resolve(config.sitesDir) };
}

/**
 * Writes a backup into `dir` (new or empty), while the gateway runs or not: the data dir (state store through
 * SQLite's backup API, disk queues up to their last complete line), then the rules, profiles and sites folders,
 * then `manifest.json` with every file's size and sha256. A backup without its manifest did not finish.
 */
export async function runBackup({ config, release, dir, progress }: BackupOptions): Promise<Manifest> {
  const started = Date.now();
  const from = folderPaths(config);
  await checkDataDir(from.data);
  const inside = Object.entries(from).find(([, path]) => isWithin(resolve(dir), path));
  if (inside) throw new BackupError(`${resolve(dir)} is inside ${FOLDERS[inside[0] as Folder]} ${inside[1]}: put the backup somewhere else, or it would copy itself`);
  await prepareTarget(dir);
  const running = lockHolder(from.data);
  progress(running ? `the gateway is running (pid ${running.pid}): copying online` : 'the gateway is not running');
  progress(`data dir ${from.data} → ${join(dir, 'data')}`);
  const copied = await copyDataDir(from.data, join(dir, 'data'), progress);
  const schemaVersion = copied.databases['state.db'];
  if (schemaVersion === undefined) throw new BackupError(`DATA_DIR ${from.data} has no state store (state.db): is DATA_DIR the gateway's?`);
  progress(`disk queues: ${copied.segments} segment file(s)${copied.tornBytes > 0 ? ` (${copied.tornBytes} bytes of an append in progress left out)` : ''}; ${copied.files} other file(s)`);
  const folders: Folder[] = ['data'];
  for (const folder of ['rules', 'profiles', 'sites'] as const) {
    if (!(await isDir(from[folder]))) {
      progress(`${FOLDERS[folder]} ${from[folder]} does not exist: left out`);
      continue;
    }
    const files = await copyFolder(from[folder], join(dir, folder));
    progress(`${FOLDERS[folder]} ${from[folder]} → ${join(dir, folder)} (${files} files)`);
    folders.push(folder);
  }
  const files = await listFiles(dir);
  const manifest: Manifest = {
    format: 1,
    release,
    schemaVersion,
    createdAt: new Date().toISOString(),
    gatewayRunning: running !== undefined,
    folders,
    from: Object.fromEntries(folders.map((f) => [f, from[f]])),
    files,
  };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  progress(`${MANIFEST_FILE}: ${files.length} files, ${bytes} bytes, release ${release}, schema version ${schemaVersion}`);
  progress(`done in ${Date.now() - started} ms: ${resolve(dir)}`);
  return manifest;
}

async function checkDataDir(dataDir: string): Promise<void> {
  if (!(await isDir(dataDir))) {
    throw new BackupError(`DATA_DIR ${dataDir} does not exist: nothing to back up (set DATA_DIR as the gateway has it, in the environment or .env)`);
  }
  if (!(await stat(join(dataDir, 'state.db')).catch(() => undefined))?.isFile()) {
    throw new BackupError(`DATA_DIR ${dataDir} has no state store (state.db): is DATA_DIR the gateway's?`);
  }
}

/** The backup goes into a new or empty directory, never over another backup. */
async function prepareTarget(dir: string): Promise<void> {
  if (await isDir(dir)) {
    if ((await readdir(dir)).length > 0) throw new BackupError(`${resolve(dir)} is not empty: give a new or empty directory for the backup`);
  } else {
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw new BackupError(`${resolve(dir)} cannot be created: ${(err as Error).message}`);
    });
  }
}

/** Whether `path` is `parent` or under it. */
export function isWithin(path: string, parent: string): boolean {
  const rel = relative(parent, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
