import { copyFile, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CURSOR_FILE, NEWLINE, SEGMENT_NAME } from '../shared/disk-queue-files.js';
import { LOCK_FILE } from '../storage/state/data-lock.js';

/** How the copy of a data dir went, for the progress lines and the manifest. */
export interface CopyReport {
  /** `user_version` of each SQLite file copied, by its path in the data dir. */
  databases: Record<string, number>;
  /** Segment files copied and the bytes of torn tails left out (an append in progress). */
  segments: number;
  tornBytes: number;
  files: number;
}

export type Progress = (line: string) => void;

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0');
/** Left behind by SQLite, a write-then-rename, the gateway's lock, or an earlier restore: never part of a copy. */
const SKIPPED = [/-(wal|shm|journal)$/, /\.tmp$/, new RegExp(`^${LOCK_FILE.replace('.', '\\.')}$`), /^\.?before-restore-/];

/**
 * Copies a data dir that a running gateway may be writing, each file by what it is: a SQLite file through
 * SQLite's online backup API (a consistent snapshot, whatever writes meanwhile), a disk-queue segment (the
 * InfluxDB spool, the upstream queue) up to its last complete line, after the queue's cursor, anything else as
 * it is.
 */
export async function copyDataDir(from: string, to: string, progress: Progress): Promise<CopyReport> {
  const report: CopyReport = { databases: {}, segments: 0, tornBytes: 0, files: 0 };
  await copyDir(from, to, '', report, progress);
  return report;
}

async function copyDir(from: string, to: string, rel: string, report: CopyReport, progress: Progress): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  const entries = (await readdir(from, { withFileTypes: true })).filter((e) => !SKIPPED.some((re) => re.test(e.name)));
  // A disk queue's cursor first: segments read later can only be further along, so replay repeats lines at worst
  // (InfluxDB overwrites a repeated point; headquarters drops a repeated seq) and never skips one.
  entries.sort((a, b) => Number(b.name === CURSOR_FILE) - Number(a.name === CURSOR_FILE) || a.name.localeCompare(b.name));
  for (const entry of entries) {
    const src = join(from, entry.name);
    const dest = join(to, entry.name);
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await copyDir(src, dest, path, report, progress);
    else if (!entry.isFile()) continue;
    else if (SEGMENT_NAME.test(entry.name)) await copySegment(src, dest, report);
    else if (await isSqlite(src)) {
      report.databases[path] = await backupSqlite(src, dest);
      progress(`state store ${path}: copied with SQLite's backup API (schema version ${report.databases[path]})`);
    } else if (await copyIfPresent(src, dest)) report.files++;
  }
}

async function isSqlite(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!fh) return false;
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    await fh.read(head, 0, head.length, 0);
    return head.equals(SQLITE_MAGIC);
  } finally {
    await fh.close();
  }
}

/**
 * SQLite's online backup from this process: one step copies every page under a read transaction, so the copy
 * is one consistent moment even while the gateway writes (WAL mode lets it go on writing meanwhile). The copy is
 * then made a single self-contained file (rollback journal) and checked. Answers its `user_version`.
 */
async function backupSqlite(src: string, dest: string): Promise<number> {
  const source = new Database(src, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 10000');
    await source.backup(dest, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const copy = new Database(dest, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new Error(`the copy of ${src} fails SQLite's quick_check: ${check}`);
    return copy.pragma('user_version', { simple: true }) as number;
  } finally {
    copy.close();
  }
}

/**
 * A segment up to its last newline: an append may be under way, and its bytes so far are no record yet. Gone
 * (ENOENT) means the queue finished reading it and deleted it after the cursor was copied: nothing is lost.
 */
async function copySegment(src: string, dest: string, report: CopyReport): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(src);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const end = data.lastIndexOf(NEWLINE) + 1;
  const fh = await open(dest, 'wx', 0o600);
  try {
    await fh.writeFile(data.subarray(0, end));
    await fh.sync();
  } finally {
    await fh.close();
  }
  report.segments++;
  report.tornBytes += data.length - end;
}

async function copyIfPresent(src: string, dest: string): Promise<boolean> {
  try {
    await copyFile(src, dest);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A folder of plain files (rules, profiles, sites) copied as it is; answers how many files. */
export async function copyFolder(from: string, to: string): Promise<number> {
  await mkdir(to, { recursive: true });
  let files = 0;
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isDirectory()) files += await copyFolder(src, dest);
    else if (entry.isFile() && (await copyIfPresent(src, dest))) files++;
  }
  return files;
}
