/**
 * A folder of definition files put in force as one set (the rules folder of contract §6, the profiles folder of
 * contract §10): every `.yaml`, `.yml` and `.json` file holds a list of items, each file valid as a whole or
 * refused. A reload validates every file first and swaps the whole set only when all of it is valid, so a refused
 * set leaves the old one in force (HA: validate all, then attach). The folder is watched and reloaded after edits.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { Logger } from '../log.js';

/** One item of a file: parsed and valid, or its problems (naming the file, the item and the field). */
export type ItemParse<T> = { ok: true; item: T } | { ok: false; errors: string[] };

/** What a folder holds: the noun its problems and log lines use, how an item is parsed, and its id. */
export interface FolderKind<T> {
  /** Singular, as in `rule files refused`; the plural adds an s (`rules loaded`). */
  noun: string;
  /** Validates the `index`th entry of `file`'s list. */
  parseItem(raw: unknown, file: string, index: number): ItemParse<T>;
  /** The id an item is known by; no two files may use the same one. */
  idOf(item: T): string;
  /** Each file holds one item (a map, as a site file does) rather than a list; default false. */
  oneItemPerFile?: boolean;
}

/** A folder as read: the items of the files that validated, every problem of the others, and whether it exists. */
export interface FolderRead<T> {
  items: T[];
  errors: string[];
  missing: boolean;
}

/** The outcome of a start or reload: how many items are in force, or why the set was refused. */
export type FolderLoad = { ok: true; count: number } | { ok: false; errors: string[] };

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Parses one file's text into the items that validate and the problems of the others (empty text: no items). */
export function parseListFile<T>(file: string, text: string, kind: Pick<FolderKind<T>, 'noun' | 'parseItem' | 'oneItemPerFile'>): { items: T[]; errors: string[] } {
  const data = parseText(file, text);
  if ('errors' in data) return { items: [], errors: data.errors };
  if (data.value === null || data.value === undefined) return { items: [], errors: [] };
  const list: unknown = kind.oneItemPerFile ? [data.value] : data.value;
  if (!Array.isArray(list)) return { items: [], errors: [`${file}: must hold a list of ${kind.noun}s`] };
  const items: T[] = [];
  const errors: string[] = [];
  list.forEach((raw: unknown, i) => {
    const r = kind.parseItem(raw, file, i);
    if (r.ok) items.push(r.item);
    else errors.push(...r.errors);
  });
  return { items, errors };
}

/** JSON for `.json`, YAML for the rest; the parser's complaint names the file. */
function parseText(file: string, text: string): { value: unknown } | { errors: string[] } {
  if (extname(file) === '.json') {
    try {
      return { value: text.trim() === '' ? null : JSON.parse(text) };
    } catch (err) {
      return { errors: [`${file}: not valid JSON: ${(err as Error).message}`] };
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { errors: doc.errors.map((e) => `${file}: not valid YAML: ${e.message.split('\n')[0].replace(/:$/, '')}`) };
  try {
    return { value: doc.toJS() };
  } catch (err) {
    // yaml refuses an alias expanded past its limit (a "billion laughs" file) here.
    return { errors: [`${file}: not valid YAML: ${(err as Error).message}`] };
  }
}

/** How a file is named in problems: relative to the working directory when inside it (`rules/fire.yaml`). */
function displayName(dir: string, file: string): string {
  const path = join(dir, file);
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Refuses an id used twice, naming both files; the first keeps it. */
function duplicateIds<T extends { file: string }>(items: T[], kind: FolderKind<T>): { unique: T[]; errors: string[] } {
  const first = new Map<string, string>();
  const unique: T[] = [];
  const errors: string[] = [];
  for (const item of items) {
    const id = kind.idOf(item);
    const seen = first.get(id);
    if (seen === undefined) {
      first.set(id, item.file);
      unique.push(item);
    } else errors.push(`${item.file}: ${kind.noun} ${JSON.stringify(id)}: id: already used in ${seen}`);
  }
  return { unique, errors };
}

/**
 * Reads and validates every file of `dir` (dotfiles skipped, in name order): the items of the files that validate,
 * and every problem of the others. A missing folder is no items (`missing: true`); any other read error is thrown.
 */
export async function readFolder<T extends { file: string }>(dir: string, kind: FolderKind<T>): Promise<FolderRead<T>> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    // Dotfiles are editors' lock and swap files, never definitions.
    names = entries.filter((e) => e.isFile() && !e.name.startsWith('.') && EXTENSIONS.has(extname(e.name))).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { items: [], errors: [], missing: true };
    throw err;
  }
  const items: T[] = [];
  const errors: string[] = [];
  for (const name of names.sort()) {
    const parsed = parseListFile(displayName(dir, name), await readFile(join(dir, name), 'utf8'), kind);
    // A file is valid as a whole or refused: none of its items are taken when one is wrong.
    if (parsed.errors.length === 0) items.push(...parsed.items);
    errors.push(...parsed.errors);
  }
  const duplicates = duplicateIds(items, kind);
  return { items: duplicates.unique, errors: [...errors, ...duplicates.errors], missing: false };
}

export interface WatchedFolderOptions<T> {
  dir: string;
  kind: FolderKind<T>;
  log: Logger;
  /** Told each set put in force, after `list()` and `get()` answer from it; a throw is the caller's to isolate. */
  apply(items: readonly T[]): void;
  /** Quiet time after the last change in the folder before reloading; default 200 ms. */
  debounceMs?: number;
  /** Told the outcome of each reload an edit in the folder caused, with the files changed (the audit trail). */
  edited?(load: FolderLoad, files: string[]): void;
}

/** The set in force, replaced as a whole. */
interface ItemSet<T> {
  list: readonly T[];
  byId: ReadonlyMap<string, T>;
}

/** A folder's set in force: loaded at start, reloaded on request or after an edit, swapped whole or not at all. */
export class WatchedFolder<T extends { file: string }> {
  private current: ItemSet<T> = { list: [], byId: new Map() };
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  /** The files changed since the last reload an edit caused. */
  private readonly changed = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: WatchedFolderOptions<T>) {}

  /**
   * Loads the folder and watches it. At start there is no set to keep, so a broken file does not cost the others:
   * the files that validate are put in force and the refused ones logged as errors (a gateway that watched nothing
   * because of one typo would be worse than one that watches all but that file).
   */
  async start(): Promise<FolderLoad> {
    const { dir, log } = this.opts;
    const { one, many } = this.nouns();
    let result: FolderLoad;
    try {
      const read = await readFolder(dir, this.opts.kind);
      if (read.missing) log.warn({ dir }, `${many} folder missing; no ${many}`);
      this.swap(read.items);
      if (read.errors.length > 0) log.error({ dir, errors: read.errors, [many]: read.items.length }, `${one} files refused at start; the valid ones are in force`);
      else log.info({ dir, [many]: read.items.length }, `${many} loaded`);
      result = read.errors.length > 0 ? { ok: false, errors: read.errors } : { ok: true, count: read.items.length };
    } catch (err) {
      log.error({ err, dir }, `${many} folder unreadable; no ${many}`);
      result = { ok: false, errors: [`${dir}: ${(err as Error).message}`] };
    }
    this.watch();
    return result;
  }

  stop(): void {
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Reads and validates the folder; swaps the set only when all of it is valid. Reloads run one at a time. */
  reload(): Promise<FolderLoad> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The items in force, in file order. */
  list(): readonly T[] {
    return this.current.list;
  }

  /** The item in force with this id. */
  get(id: string): T | undefined {
    return this.current.byId.get(id);
  }

  private async load(): Promise<FolderLoad> {
    const { dir, log } = this.opts;
    const { one, many } = this.nouns();
    let read: FolderRead<T>;
    try {
      read = await readFolder(dir, this.opts.kind);
    } catch (err) {
      const errors = [`${dir}: ${(err as Error).message}`];
      log.warn({ err, dir }, `${many} folder unreadable; the ${many} in force stay`);
      return { ok: false, errors };
    }
    if (read.errors.length > 0) {
      log.warn({ dir, errors: read.errors }, `${one} files refused; the ${many} in force stay`);
      return { ok: false, errors: read.errors };
    }
    if (read.missing) log.warn({ dir }, `${many} folder missing; no ${many}`);
    this.swap(read.items);
    log.info({ dir, [many]: read.items.length }, `${many} loaded`);
    return { ok: true, count: read.items.length };
  }

  /** Puts a set in force at once, then tells the owner. */
  private swap(items: T[]): void {
    const list = Object.freeze([...items]);
    this.current = { list, byId: new Map(list.map((item) => [this.opts.kind.idOf(item), item])) };
    this.opts.apply(list);
  }

  /** Reloads a moment after the folder last changed (editors write a file in several steps). */
  private watch(): void {
    const { dir, log } = this.opts;
    const { many } = this.nouns();
    try {
      this.watcher = watch(dir, (_event, file) => {
        if (file && !file.startsWith('.')) this.changed.add(file);
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.reloadEdited(), this.opts.debounceMs ?? 200);
      });
    } catch (err) {
      log.warn({ err, dir }, `${many} folder not watched; reload through the API`);
      return;
    }
    this.watcher.on('error', (err) => {
      log.warn({ err, dir }, `${many} folder no longer watched; reload through the API`);
      this.watcher?.close();
      this.watcher = undefined;
    });
  }

  /** A reload an edit caused; its outcome and the files changed are told to `edited`. */
  private reloadEdited(): void {
    const files = [...this.changed].sort();
    this.changed.clear();
    void this.reload().then((load) => this.opts.edited?.(load, files));
  }

  private nouns(): { one: string; many: string } {
    return { one: this.opts.kind.noun, many: `${this.opts.kind.noun}s` };
  }
}
