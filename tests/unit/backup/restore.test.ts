import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../../src/backup/backup.js';
import { runRestore } from '../../../src/backup/restore.js';

let root: string;
let config: { dataDir: string; rulesDir: string; profilesDir: string; sitesDir: string };
const lines: string[] = [];
const progress = (line: string) => lines.push(line);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'backup-restore-'));
  config = { dataDir: join(root, 'data'), rulesDir: join(root, 'rules'), profilesDir: join(root, 'profiles'), sitesDir: join(root, 'sites') };
  await mkdir(config.dataDir);
  const db = new Database(join(config.dataDir, 'state.db'));
  db.exec('CREATE TABLE t (v TEXT)');
  db.prepare("INSERT INTO t VALUES ('backed up')").run();
  db.close();
  await mkdir(config.rulesDir);
  await writeFile(join(config.rulesDir, 'a.yaml'), '[]\n');
  lines.length = 0;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('restore', () => {
  it('moves what it replaces aside and puts the backup back', async () => {
    await runBackup({ config, release: '9.9.9', dir: join(root, 'backup'), progress });
    await writeFile(join(config.rulesDir, 'a.yaml'), '# changed since\n');
    const now = new Date('2026-12-06T10:00:00.000Z');

    const { movedAside } = await runRestore({ config, dir: join(root, 'backup'), progress, now });

    expect(movedAside).toStrictEqual({ data: `${config.dataDir}.before-restore-2026-12-06T10-00-00-000Z`, rules: `${config.rulesDir}.before-restore-2026-12-06T10-00-00-000Z` });
    expect(await readFile(join(config.rulesDir, 'a.yaml'), 'utf8')).toBe('[]\n');
    expect(await readFile(join(movedAside.rules, 'a.yaml'), 'utf8')).toBe('# changed since\n');
    const db = new Database(join(config.dataDir, 'state.db'), { readonly: true });
    expect(db.prepare('SELECT v FROM t').all()).toStrictEqual([{ v: 'backed up' }]);
    db.close();
    expect(lines).toContain(`PROFILES_DIR ${config.profilesDir} does not exist: left out`);
    expect(lines).toContain(`left as they are: PROFILES_DIR ${config.profilesDir}, SITES_DIR ${config.sitesDir}`);
  });

  it('with dataOnly, leaves the rules folder as it is', async () => {
    await runBackup({ config, release: '9.9.9', dir: join(root, 'backup'), progress });
    await writeFile(join(config.rulesDir, 'a.yaml'), '# kept\n');

    const { movedAside } = await runRestore({ config, dir: join(root, 'backup'), progress, dataOnly: true });

    expect(Object.keys(movedAside)).toStrictEqual(['data']);
    expect(await readFile(join(config.rulesDir, 'a.yaml'), 'utf8')).toBe('# kept\n');
  });

  it('refuses a folder that is not a backup, and one whose manifest lists a file that is gone', async () => {
    await expect(runRestore({ config, dir: config.rulesDir, progress })).rejects.toThrow(`${config.rulesDir} has no manifest.json: it is not a backup, or the backup did not finish`);
    await runBackup({ config, release: '9.9.9', dir: join(root, 'backup'), progress });
    await rm(join(root, 'backup', 'rules', 'a.yaml'));
    await expect(runRestore({ config, dir: join(root, 'backup'), progress })).rejects.toThrow('rules/a.yaml is missing');
    expect((await readdir(root)).sort()).toStrictEqual(['backup', 'data', 'rules']);
  });
});

describe('backup', () => {
  it('refuses a target inside DATA_DIR, which would copy itself', async () => {
    await expect(runBackup({ config, release: '9.9.9', dir: join(config.dataDir, 'backups', 'x'), progress })).rejects.toThrow(
      `${join(config.dataDir, 'backups', 'x')} is inside DATA_DIR ${config.dataDir}: put the backup somewhere else, or it would copy itself`,
    );
  });

  it('refuses a data dir without a state store', async () => {
    await rm(join(config.dataDir, 'state.db'));
    await expect(runBackup({ config, release: '9.9.9', dir: join(root, 'backup'), progress })).rejects.toThrow(
      `DATA_DIR ${config.dataDir} has no state store (state.db): is DATA_DIR the gateway's?`,
    );
    expect((await readdir(root)).sort()).toStrictEqual(['data', 'rules']);
  });
});
