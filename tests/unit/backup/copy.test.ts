import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyDataDir } from '../../../src/backup/copy.js';
import { createLogger } from '../../../src/log.js';
import { DiskQueue } from '../../../src/shared/disk-queue.js';
import { DataDirLock, LOCK_FILE, lockHolder } from '../../../src/storage/state/data-lock.js';

let root: string;
let from: string;
let to: string;
const progress: string[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'backup-copy-'));
  from = join(root, 'data');
  to = join(root, 'copy');
  await mkdir(from);
  progress.length = 0;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readAll(dir: string): Promise<string> {
  const queue = new DiskQueue({ dir, suffix: '.lp', maxBytes: 10_000_000, log: createLogger('silent'), name: 'spool', unit: 'points' });
  await queue.open();
  let text = '';
  for (let chunk = await queue.read(1 << 20); chunk; chunk = await queue.read(1 << 20)) {
    text += chunk.text;
    await chunk.commit();
  }
  await queue.close();
  return text;
}

describe('copying a disk queue that is being appended to', () => {
  it('copies a segment up to its last complete line and leaves out the bytes of an append in progress', async () => {
    const spool = join(from, 'spool');
    const queue = new DiskQueue({ dir: spool, suffix: '.lp', maxBytes: 10_000_000, log: createLogger('silent'), name: 'spool', unit: 'points' });
    await queue.open();
    await queue.append('m v=1 1\nm v=2 2\nm v=3 3\n', 3);
    await queue.close();
    const [segment] = await readdir(spool);
    await appendFile(join(spool, segment), 'm v=4'); // the first bytes of a write not finished yet

    const report = await copyDataDir(from, to, (line) => progress.push(line));

    expect(await readFile(join(to, 'spool', segment), 'utf8')).toBe('m v=1 1\nm v=2 2\nm v=3 3\n');
    expect({ segments: report.segments, tornBytes: report.tornBytes }).toStrictEqual({ segments: 1, tornBytes: 5 });
    expect(await readAll(join(to, 'spool'))).toBe('m v=1 1\nm v=2 2\nm v=3 3\n');
  });

  it('keeps the cursor, so what was already delivered is not replayed from the copy', async () => {
    const spool = join(from, 'spool');
    const queue = new DiskQueue({ dir: spool, suffix: '.lp', maxBytes: 10_000_000, log: createLogger('silent'), name: 'spool', unit: 'points' });
    await queue.open();
    await queue.append('m v=1 1\nm v=2 2\n', 2);
    const first = await queue.read(8);
    await first!.commit();
    await queue.append('m v=3 3\n', 1);
    await queue.close();

    await copyDataDir(from, to, () => undefined);

    expect(await readAll(join(to, 'spool'))).toBe('m v=2 2\nm v=3 3\n');
  });
});

describe('copying a SQLite file that is being written', () => {
  it('copies only committed rows, as one self-contained file that passes its check', async () => {
    const source = new Database(join(from, 'state.db'));
    source.pragma('journal_mode = WAL');
    source.pragma('user_version = 4');
    source.exec('CREATE TABLE t (v INTEGER)');
    source.prepare('INSERT INTO t VALUES (1), (2)').run();
    // Another connection, as the running gateway would be, in the middle of a transaction.
    const writer = new Database(join(from, 'state.db'));
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare('INSERT INTO t VALUES (3)').run();

    const report = await copyDataDir(from, to, (line) => progress.push(line));
    writer.exec('ROLLBACK');
    writer.close();
    source.close();

    expect(report.databases).toStrictEqual({ 'state.db': 4 });
    expect(progress).toStrictEqual(["state store state.db: copied with SQLite's backup API (schema version 4)"]);
    expect((await readdir(to)).sort()).toStrictEqual(['state.db']);
    const copy = new Database(join(to, 'state.db'), { readonly: true });
    expect(copy.prepare('SELECT v FROM t ORDER BY v').all()).toStrictEqual([{ v: 1 }, { v: 2 }]);
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    copy.close();
  });

  it("leaves out the gateway's lock, SQLite's side files and half-written temporary files", async () => {
    await writeFile(join(from, LOCK_FILE), '{"pid":1}');
    await writeFile(join(from, 'cursor.json.tmp'), '{');
    await writeFile(join(from, 'refused.lp'), 'm v=1 1\n');
    await mkdir(join(from, 'reports'));
    await writeFile(join(from, 'reports', 'birch-row-2026-11.json'), '{}');
    await mkdir(join(from, '.before-restore-2026-12-01T00-00-00-000Z'));

    await copyDataDir(from, to, () => undefined);

    expect((await readdir(to)).sort()).toStrictEqual(['refused.lp', 'reports']);
    expect(await readdir(join(to, 'reports'))).toStrictEqual(['birch-row-2026-11.json']);
  });
});

describe('the data dir lock', () => {
  it('is held while the gateway runs and released when it stops', async () => {
    const lock = new DataDirLock(from);
    lock.start();
    const text = JSON.parse(await readFile(join(from, LOCK_FILE), 'utf8')) as { pid: number };
    expect(text.pid).toBe(process.pid);
    lock.stop();
    expect(await readdir(from)).toStrictEqual([]);
  });

  it('names a live process that holds it, and ignores one left by a process that is gone', async () => {
    const host = hostname();
    await writeFile(join(from, LOCK_FILE), JSON.stringify({ pid: process.ppid, host, startedAt: '2026-12-01T00:00:00.000Z' }));
    expect(lockHolder(from)).toStrictEqual({ pid: process.ppid, host, startedAt: '2026-12-01T00:00:00.000Z' });
    expect(() => new DataDirLock(from).start()).toThrow(
      `DATA_DIR ${from}: another gateway (pid ${process.ppid} on ${host}, started 2026-12-01T00:00:00.000Z) is using it; stop it first, or give this one its own DATA_DIR`,
    );
    // Pids are at most 2^22 on Linux: this one cannot be running.
    await writeFile(join(from, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 1, host, startedAt: '2026-12-01T00:00:00.000Z' }));
    expect(lockHolder(from)).toBeUndefined();
  });

  it('counts a lock written on another host as held for a restore and as gone for a start', async () => {
    const lock = { pid: 2 ** 22 + 1, host: `${hostname()}-elsewhere`, startedAt: '2026-12-01T00:00:00.000Z' };
    await writeFile(join(from, LOCK_FILE), JSON.stringify(lock));
    expect(lockHolder(from, 'held')).toStrictEqual(lock);
    expect(lockHolder(from, 'gone')).toBeUndefined();
  });
});
