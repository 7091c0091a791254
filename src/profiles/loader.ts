/**
 * Reads the profiles folder (contract §10, `PROFILES_DIR`): every `.yaml`, `.yml` and `.json` file holds a list of
 * profiles. All files are validated first; only when every one is valid do the profiles replace those in force, at
 * once. A refused set leaves the old profiles in force. The folder is watched. Mirrors rules/loader.ts, whose file
 * handling it repeats rather than imports: profiles sit below rules in the dependency direction.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseProfile, type ParseOptions, type Profile } from './schema.js';

/** One or more profile files did not validate; `problems` name the file, the profile and the field. */
export class ProfilesInvalidError extends GatewayError {
  constructor(readonly problems: string[]) {
    super('validation_failed', problems.join('\n'));
    this.name = 'ProfilesInvalidError';
  }
}

/** A profile with the file it came from and its text as written (what `GET /api/profiles` shows). */
export interface LoadedProfile {
  file: string;
  profile: Profile;
  definition: unknown;
}

/** A loaded profile as plain JSON for the API. */
export function profileView(l: LoadedProfile): { id: string; kind: string; source: string; file: string; description?: string; definition: unknown } {
  const { id, kind, source, description } = l.profile;
  return { id, kind, source, file: l.file, description, definition: l.definition };
}

export type ProfileReloadResult = { ok: true; profiles: number } | { ok: false; errors: string[] };

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const DEFAULT_PARSE: ParseOptions = { topicBase: 'sc' };

/** Parses one file's text; answers its profiles, or the problems (a file is all valid or refused). */
export function parseProfileFile(file: string, text: string, opts: ParseOptions = DEFAULT_PARSE): { profiles: LoadedProfile[]; errors: string[] } {
  let data: unknown;
  if (extname(file) === '.json') {
    try {
      data = text.trim() === '' ? null : JSON.parse(text);
    } catch (err) {
      return { profiles: [], errors: [`${file}: not valid JSON: ${(err as Error).message}`] };
    }
  } else {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) return { profiles: [], errors: doc.errors.map((e) => `${file}: not valid YAML: ${e.message.split('\n')[0].replace(/:$/, '')}`) };
    try {
      data = doc.toJS();
    } catch (err) {
      // yaml refuses an alias expanded past its limit (a "billion laughs" file) here.
      return { profiles: [], errors: [`${file}: not valid YAML: ${(err as Error).message}`] };
    }
  }
  if (data === null || data === undefined) return { profiles: [], errors: [] };
  if (!Array.isArray(data)) return { profiles: [], errors: [`${file}: must hold a list of profiles`] };
  const profiles: LoadedProfile[] = [];
  const errors: string[] = [];
  data.forEach((raw: unknown, i) => {
    const r = parseProfile(raw, file, i, opts);
    if (r.ok) profiles.push({ file, profile: r.profile, definition: raw });
    else errors.push(...r.errors);
  });
  return errors.length > 0 ? { profiles: [], errors } : { profiles, errors };
}

/** Refuses an id defined twice, naming both places. */
function duplicateIds(profiles: LoadedProfile[]): string[] {
  const first = new Map<string, string>();
  const errors: string[] = [];
  for (const { file, profile } of profiles) {
    const seen = first.get(profile.id);
    if (seen) errors.push(`${file}: profile ${JSON.stringify(profile.id)}: id: already used in ${seen}`);
    else first.set(profile.id, file);
  }
  return errors;
}

/** How a file is named in problems: relative to the working directory when inside it (`profiles/acme.yaml`). */
function displayName(dir: string, file: string): string {
  const path = join(dir, file);
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Reads and validates every profile file of `dir`: the profiles of the files that validate, and every problem of
 * the others (an id used twice keeps its first place). A missing folder is no profiles (`missing: true`).
 */
export async function readProfileFiles(dir: string, opts: ParseOptions = DEFAULT_PARSE): Promise<{ profiles: LoadedProfile[]; errors: string[]; missing: boolean }> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    // Dotfiles are editors' lock and swap files, never profiles.
    names = entries.filter((e) => e.isFile() && !e.name.startsWith('.') && EXTENSIONS.has(extname(e.name))).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: [], errors: [], missing: true };
    throw err;
  }
  const profiles: LoadedProfile[] = [];
  const errors: string[] = [];
  for (const name of names.sort()) {
    const parsed = parseProfileFile(displayName(dir, name), await readFile(join(dir, name), 'utf8'), opts);
    profiles.push(...parsed.profiles);
    errors.push(...parsed.errors);
  }
  const duplicates = duplicateIds(profiles);
  const seen = new Set<string>();
  const unique = profiles.filter((p) => !seen.has(p.profile.id) && seen.add(p.profile.id));
  return { profiles: unique, errors: [...errors, ...duplicates], missing: false };
}

export interface ProfileLoaderOptions {
  dir: string;
  log: Logger;
  /** The gateway's topic base (`sc`, the default): no profile topic may be under it. */
  topicBase?: string;
  /** Told the whole new set each time one is put in force (the broker's ACL, the poller). */
  onChange?: (profiles: readonly LoadedProfile[]) => void;
  /** Quiet time after the last change in the folder before reloading; default 200 ms. */
  debounceMs?: number;
}

/** The set in force, replaced as a whole. */
interface ProfileSet {
  list: readonly LoadedProfile[];
  byId: ReadonlyMap<string, Profile>;
}

export class ProfileLoader {
  readonly name = 'profile loader';
  private current: ProfileSet = { list: [], byId: new Map() };
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ProfileLoaderOptions) {}

  /**
   * Loads the folder and watches it. At start there is no set to keep, so a broken file does not cost the
   * others: the files that validate are put in force and the refused ones logged as errors (as rules do).
   */
  async start(): Promise<ProfileReloadResult> {
    const { dir, log } = this.opts;
    let result: ProfileReloadResult;
    try {
      const read = await readProfileFiles(dir, this.parseOptions());
      if (read.missing) log.warn({ dir }, 'profiles folder missing; no profiles');
      this.swap(read.profiles);
      if (read.errors.length > 0) log.error({ dir, errors: read.errors, profiles: read.profiles.length }, 'profile files refused at start; the valid ones are in force');
      else log.info({ dir, profiles: read.profiles.length }, 'profiles loaded');
      result = read.errors.length > 0 ? { ok: false, errors: read.errors } : { ok: true, profiles: read.profiles.length };
    } catch (err) {
      log.error({ err, dir }, 'profiles folder unreadable; no profiles');
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

  /** Reads and validates the folder; swaps the profiles only when all of it is valid. Reloads run one at a time. */
  reload(): Promise<ProfileReloadResult> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The profiles in force, as loaded (file and text as written). */
  list(): readonly LoadedProfile[] {
    return this.current.list;
  }

  /** The profile in force with this id. */
  get(id: string): Profile | undefined {
    return this.current.byId.get(id);
  }

  private parseOptions(): ParseOptions {
    return { topicBase: this.opts.topicBase ?? DEFAULT_PARSE.topicBase };
  }

  private async load(): Promise<ProfileReloadResult> {
    const { dir, log } = this.opts;
    let read: Awaited<ReturnType<typeof readProfileFiles>>;
    try {
      read = await readProfileFiles(dir, this.parseOptions());
    } catch (err) {
      const errors = [`${dir}: ${(err as Error).message}`];
      log.warn({ err, dir }, 'profiles folder unreadable; the profiles in force stay');
      return { ok: false, errors };
    }
    if (read.errors.length > 0) {
      log.warn({ dir, errors: read.errors }, 'profile files refused; the profiles in force stay');
      return { ok: false, errors: read.errors };
    }
    if (read.missing) log.warn({ dir }, 'profiles folder missing; no profiles');
    this.swap(read.profiles);
    log.info({ dir, profiles: read.profiles.length }, 'profiles loaded');
    return { ok: true, profiles: read.profiles.length };
  }

  /** Puts a set in force at once, then tells the listener; a failing listener is logged, the set stays. */
  private swap(profiles: LoadedProfile[]): void {
    const list = Object.freeze([...profiles]);
    this.current = { list, byId: new Map(list.map((l) => [l.profile.id, l.profile])) };
    try {
      this.opts.onChange?.(list);
    } catch (err) {
      this.opts.log.error({ err }, 'profile change listener failed');
    }
  }

  /** Reloads a moment after the folder last changed (editors write a file in several steps). */
  private watch(): void {
    const { dir, log } = this.opts;
    try {
      this.watcher = watch(dir, () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 200);
      });
    } catch (err) {
      log.warn({ err, dir }, 'profiles folder not watched; reload through the API');
      return;
    }
    this.watcher.on('error', (err) => {
      log.warn({ err, dir }, 'profiles folder no longer watched; reload through the API');
      this.watcher?.close();
      this.watcher = undefined;
    });
  }
}
