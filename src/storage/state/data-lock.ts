import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirError } from '../../errors.js';

/** The file a running gateway keeps in DATA_DIR: its process id, so a restore or a second gateway can tell. */
export const LOCK_FILE = 'gateway.lock';

/** What the lock file says. */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * The running gateway that holds `dataDir`, or undefined: no lock file, or one left by a process that is gone
 * (a crash or a pulled plug leaves it behind). A lock naming this very process is no other gateway's (a
 * restarted container's gateway is pid 1 again). A lock written on another host (another container: its
 * hostname differs) cannot be checked: `otherHost` says whether to count it as held (a restore, which must
 * not run under a gateway) or as gone (a gateway's start, which must come back after a crash on its own).
 */
export function lockHolder(dataDir: string, otherHost: 'held' | 'gone' = 'gone'): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let holder: LockHolder;
  try {
    holder = JSON.parse(text) as LockHolder;
  } catch {
    // A lock file cut short by a crash while it was written: nobody holds it.
    return undefined;
  }
  if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0) return undefined;
  if (holder.host !== hostname()) return otherHost === 'held' ? holder : undefined;
  if (holder.pid === process.pid) return undefined;
  return alive(holder.pid) ? holder : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Marks DATA_DIR as in use while the gateway runs (docs/operations.md#backup-and-restore): start() refuses a data
 * dir another live gateway holds, and writes `gateway.lock`; stop() removes it. `npm run restore` refuses while
 * it is held; `npm run backup` works either way.
 */
export class DataDirLock {
  readonly name = 'data dir lock';
  private held = false;

  constructor(private readonly dataDir: string) {}

  start(): void {
    const holder = lockHolder(this.dataDir);
    if (holder) {
      throw new DataDirError(
        this.dataDir,
        `another gateway (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}) is using it; stop it first, or give this one its own DATA_DIR`,
      );
    }
    mkdirSync(this.dataDir, { recursive: true });
    const lock: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    writeFileSync(join(this.dataDir, LOCK_FILE), `${JSON.stringify(lock)}\n`);
    this.held = true;
  }

  stop(): void {
    if (!this.held) return;
    this.held = false;
    rmSync(join(this.dataDir, LOCK_FILE), { force: true });
  }
}
