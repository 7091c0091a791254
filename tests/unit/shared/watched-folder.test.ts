import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseListFile, readFolder, WatchedFolder, type FolderKind } from '../../../src/shared/watched-folder.js';
import { recordingLogger } from '../rules/harness.js';

/** The simplest thing a folder can hold: `{ id, n }` entries, `n` a number. */
interface Thing {
  file: string;
  id: string;
  n: number;
}

const THINGS: FolderKind<Thing> = {
  noun: 'thing',
  parseItem: (raw, file, index) => {
    const { id, n } = (raw ?? {}) as { id?: unknown; n?: unknown };
    if (typeof id !== 'string') return { ok: false, errors: [`${file}: thing #${index + 1}: id: must be text`] };
    if (typeof n !== 'number') return { ok: false, errors: [`${file}: thing ${JSON.stringify(id)}: n: must be a number`] };
    return { ok: true, item: { file, id, n } };
  },
  idOf: (t) => t.id,
};

let dir: string;
let folders: WatchedFolder<Thing>[];

/** A watched folder of things with a short debounce, the sets it applied, and its log lines. */
function watched(folder = dir) {
  const { log, records } = recordingLogger();
  const applied: string[][] = [];
  const f = new WatchedFolder({ dir: folder, kind: THINGS, log, debounceMs: 20, apply: (things) => void applied.push(things.map((t) => t.id)) });
  folders.push(f);
  return { f, applied, records };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'watched-folder-'));
  await writeFile(join(dir, 'a.yaml'), '- { id: one, n: 1 }\n- { id: two, n: 2 }\n');
  await writeFile(join(dir, 'b.json'), JSON.stringify([{ id: 'three', n: 3 }]));
  await writeFile(join(dir, 'notes.md'), '- { id: ignored, n: 0 }');
  await writeFile(join(dir, '.a.yaml.swp'), 'garbage: [');
  folders = [];
});
afterEach(async () => {
  for (const f of folders) f.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('readFolder', () => {
  it('reads the .yaml, .yml and .json files in name order, skipping dotfiles and other files', async () => {
    const read = await readFolder(dir, THINGS);
    expect(read.items.map((t) => t.id)).toStrictEqual(['one', 'two', 'three']);
    expect(read.errors).toStrictEqual([]);
    expect(read.missing).toBe(false);
  });

  it('refuses a file as a whole when one of its entries is wrong, keeping the other files', async () => {
    await writeFile(join(dir, 'c.yml'), '- { id: four, n: 4 }\n- { id: five, n: five }\n');
    const read = await readFolder(dir, THINGS);
    expect(read.items.map((t) => t.id)).toStrictEqual(['one', 'two', 'three']);
    expect(read.errors).toStrictEqual([`${join(dir, 'c.yml')}: thing "five": n: must be a number`]);
  });

  it('refuses an id used in two files, naming both, and keeps the first', async () => {
    await writeFile(join(dir, 'c.yaml'), '- { id: one, n: 10 }\n');
    const read = await readFolder(dir, THINGS);
    expect(read.errors).toStrictEqual([`${join(dir, 'c.yaml')}: thing "one": id: already used in ${join(dir, 'a.yaml')}`]);
    expect(read.items.find((t) => t.id === 'one')?.n).toBe(1);
  });

  it('reads a missing folder as no items', async () => {
    expect(await readFolder(join(dir, 'nope'), THINGS)).toStrictEqual({ items: [], errors: [], missing: true });
  });
});

describe('parseListFile', () => {
  it('reads empty text as no items, and refuses what is not a list or does not parse', () => {
    expect(parseListFile('x.yaml', '', THINGS)).toStrictEqual({ items: [], errors: [] });
    expect(parseListFile('x.json', ' ', THINGS)).toStrictEqual({ items: [], errors: [] });
    expect(parseListFile('x.yaml', 'id: one', THINGS)).toStrictEqual({ items: [], errors: ['x.yaml: must hold a list of things'] });
    expect(parseListFile('x.json', '[', THINGS).errors[0]).toMatch(/^x\.json: not valid JSON: /);
    expect(parseListFile('x.yaml', 'key: [unclosed', THINGS).errors[0]).toMatch(/^x\.yaml: not valid YAML: /);
  });
});

describe('WatchedFolder', () => {
  it('puts the valid files in force at start and reports the refused ones', async () => {
    await writeFile(join(dir, 'c.yaml'), '- { id: bad }\n');
    const { f, applied, records } = watched();
    const r = await f.start();
    expect(r).toStrictEqual({ ok: false, errors: [`${join(dir, 'c.yaml')}: thing "bad": n: must be a number`] });
    expect(applied).toStrictEqual([['one', 'two', 'three']]);
    expect(f.get('two')?.n).toBe(2);
    expect(records.find((x) => x.msg === 'thing files refused at start; the valid ones are in force')).toMatchObject({ level: 50, things: 3 });
  });

  it('validates the whole folder before swapping in a new set', async () => {
    const { f, applied, records } = watched();
    await f.start();
    await rm(join(dir, 'b.json'));
    await writeFile(join(dir, 'c.yaml'), '- { id: four, n: 4 }\n');
    expect(await f.reload()).toStrictEqual({ ok: true, count: 3 });
    expect(applied).toStrictEqual([['one', 'two', 'three'], ['one', 'two', 'four']]);
    expect(f.get('three')).toBeUndefined();
    expect(f.get('four')?.n).toBe(4);
    expect(records.filter((x) => x.msg === 'things loaded')).toHaveLength(2);
  });

  it('keeps the set in force when a reload finds any problem, and logs them at warn', async () => {
    const { f, applied, records } = watched();
    await f.start();
    const before = f.list();
    await writeFile(join(dir, 'c.yaml'), '- { id: four, n: 4 }\n');
    await writeFile(join(dir, 'd.yaml'), '- { id: five }\n');
    const r = await f.reload();
    expect(r).toStrictEqual({ ok: false, errors: [`${join(dir, 'd.yaml')}: thing "five": n: must be a number`] });
    expect(f.list()).toBe(before);
    expect(f.get('four')).toBeUndefined();
    expect(applied).toHaveLength(1);
    expect(records.find((x) => x.msg === 'thing files refused; the things in force stay')).toMatchObject({ level: 40, errors: !r.ok && r.errors });
  });

  it('keeps the set in force when a reload finds an id used twice', async () => {
    const { f, applied } = watched();
    await f.start();
    await writeFile(join(dir, 'c.yaml'), '- { id: three, n: 30 }\n');
    expect(await f.reload()).toStrictEqual({ ok: false, errors: [`${join(dir, 'c.yaml')}: thing "three": id: already used in ${join(dir, 'b.json')}`] });
    expect(f.get('three')?.n).toBe(3);
    expect(applied).toHaveLength(1);
  });

  it('starts a missing folder with no items and a warning', async () => {
    const { f, applied, records } = watched(join(dir, 'nope'));
    expect(await f.start()).toStrictEqual({ ok: true, count: 0 });
    expect(applied).toStrictEqual([[]]);
    expect(records.find((x) => x.msg === 'things folder missing; no things')).toMatchObject({ level: 40 });
  });

  it('keeps the set in force when the folder cannot be read on reload', async () => {
    const { f, records } = watched();
    await f.start();
    await rm(dir, { recursive: true });
    await writeFile(dir, 'now a file');
    const r = await f.reload();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toMatch(new RegExp(`^${dir}: ENOTDIR`));
    expect(f.list()).toHaveLength(3);
    expect(records.find((x) => x.msg === 'things folder unreadable; the things in force stay')).toMatchObject({ level: 40 });
  });

  it('runs reloads one at a time, in the order asked', async () => {
    const { log } = recordingLogger();
    const parsed: string[] = [];
    const kind: FolderKind<Thing> = { ...THINGS, parseItem: (raw, file, i) => (parsed.push(basename(file)), THINGS.parseItem(raw, file, i)) };
    const f = new WatchedFolder({ dir, kind, log, apply: () => undefined });
    folders.push(f);
    await f.start();
    parsed.length = 0;
    expect(await Promise.all([f.reload(), f.reload()])).toStrictEqual([{ ok: true, count: 3 }, { ok: true, count: 3 }]);
    // Two reads at once would interleave: a.yaml, a.yaml, a.yaml, a.yaml, b.json, b.json.
    expect(parsed).toStrictEqual(['a.yaml', 'a.yaml', 'b.json', 'a.yaml', 'a.yaml', 'b.json']);
  });

  it('still runs a reload chained after one that threw', async () => {
    const { log } = recordingLogger();
    let failOnce = false;
    const apply = () => {
      if (!failOnce) return;
      failOnce = false;
      throw new Error('owner broke');
    };
    const f = new WatchedFolder({ dir, kind: THINGS, log, apply });
    folders.push(f);
    await f.start();
    failOnce = true;
    const broken = f.reload();
    const chained = f.reload();
    await expect(broken).rejects.toThrow('owner broke');
    expect(await chained).toStrictEqual({ ok: true, count: 3 });
  });

  it('reloads by itself a moment after a file in the folder changes', async () => {
    const { f, applied } = watched();
    await f.start();
    await writeFile(join(dir, 'b.json'), JSON.stringify([{ id: 'three', n: 33 }, { id: 'six', n: 6 }]));
    await vi.waitFor(() => expect(applied.at(-1)).toStrictEqual(['one', 'two', 'three', 'six']), { timeout: 3000, interval: 20 });
    expect(f.get('three')?.n).toBe(33);
  });

  it('stops watching on stop', async () => {
    const { f, applied } = watched();
    await f.start();
    f.stop();
    await writeFile(join(dir, 'c.yaml'), '- { id: four, n: 4 }\n');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(applied).toHaveLength(1);
  });
});
