import { chmod, mkdir, readdir, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, lockHolder } from '../storage/state/data-lock.js';
import { SCHEMA_VERSION } from '../storage/state/store.js';
import { BackupError, folderPaths, isDir, type BackupOptions } from './backup.js';
import { copyFolder, type Progress } from './copy.js';
import { FOLDERS, readManifest, verifyFiles, type Manifest } from './manifest.js';

export interface RestoreOptions {
  config: BackupOptions['config'];
  dir: string;
  progress: Progress;
  /** Restore DATA_DIR only, leaving RULES_DIR, PROFILES_DIR and SITES_DIR as they are (`--data-only`). */
  dataOnly?: boolean;
  /** The moment in the names of the folders moved aside; now by default. */
  now?: Date;
}

/** What a restore did: the manifest it restored and where each folder it replaced went. */
export interface RestoreReport {
  manifest: Manifest;
  movedAside: Record<string, string>;
}

/**
 * Puts a backup back (`npm run restore`), with the gateway stopped: refuses while a gateway holds DATA_DIR, a
 * backup whose files do not match its manifest, and one made by a newer release's schema. Each folder it
 * replaces is moved aside as `<folder>.before-restore-<time>`, never deleted.
 */
export async function runRestore({ config, dir, progress, dataOnly = false, now = new Date() }: RestoreOptions): Promise<RestoreReport> {
  const to = folderPaths(config);
  const holder = lockHolder(to.data, 'held');
  if (holder) {
    const where = holder.host === hostname() ? '' : ` on ${holder.host}; if no gateway runs there any more, delete ${join(to.data, LOCK_FILE)}`;
    throw new BackupError(`the gateway is running on DATA_DIR ${to.data} (pid ${holder.pid}, started ${holder.startedAt}${where}): stop it before restoring`);
  }
  const manifest = await readManifest(dir).catch((err: unknown) => {
    throw new BackupError((err as Error).message);
  });
  progress(`backup of ${manifest.createdAt}, release ${manifest.release}, schema version ${manifest.schemaVersion}, ${manifest.files.length} files`);
  if (manifest.schemaVersion > SCHEMA_VERSION) {
    throw new BackupError(
      `the backup's state store has schema version ${manifest.schemaVersion}, from a newer release than this one (which knows up to ${SCHEMA_VERSION}): restore it with release ${manifest.release} or later`,
    );
  }
  const problems = await verifyFiles(dir, manifest);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BackupError(`the backup in ${dir} does not match its manifest, nothing was restored: ${shown}`);
  }
  progress('every file matches its size and sha256 in the manifest');
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const movedAside: Record<string, string> = {};
  const folders = manifest.folders.filter((f) => f === 'data' || !dataOnly);
  for (const folder of folders) {
    const aside = await moveAside(to[folder], stamp);
    if (aside) {
      movedAside[folder] = aside;
      progress(`${FOLDERS[folder]} ${to[folder]} moved aside to ${aside}`);
    }
    const files = await copyFolder(join(dir, folder), to[folder]);
    if (folder === 'data') await chmod(to[folder], 0o700);
    progress(`${FOLDERS[folder]} ${to[folder]}: ${files} files restored`);
  }
  const left = (['rules', 'profiles', 'sites'] as const).filter((f) => !folders.includes(f));
  if (left.length > 0) progress(`left as they are: ${left.map((f) => `${FOLDERS[f]} ${to[f]}`).join(', ')}`);
  if (manifest.schemaVersion < SCHEMA_VERSION) {
    progress(`the gateway migrates the state store from schema version ${manifest.schemaVersion} to ${SCHEMA_VERSION} when it starts`);
  }
  progress('done: start the gateway');
  return { manifest, movedAside };
}

/**
 * Renames `path` to `<path>.before-restore-<stamp>`. A mount point (a Docker volume on /data) cannot be
 * renamed: its contents go into `<path>/.before-restore-<stamp>/` instead, which backups leave out. Answers
 * where it went, or undefined when there was nothing there.
 */
async function moveAside(path: string, stamp: string): Promise<string | undefined> {
  if (!(await isDir(path))) return undefined;
  const beside = `${path}.before-restore-${stamp}`;
  try {
    await rename(path, beside);
    return beside;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EBUSY' && code !== 'EXDEV' && code !== 'EACCES' && code !== 'EPERM') throw err;
  }
  const inside = join(path, `.before-restore-${stamp}`);
  const entries = (await readdir(path)).filter((name) => !name.startsWith('.before-restore-'));
  await mkdir(inside, { mode: 0o700 });
  for (const name of entries) await rename(join(path, name), join(inside, name));
  return inside;
}
