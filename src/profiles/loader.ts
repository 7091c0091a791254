/**
 * Reads the profiles folder (contract §10, `PROFILES_DIR`): every `.yaml`, `.yml` and `.json` file holds a list of
 * profiles. All files are validated first; only when every one is valid do the profiles replace those in force, at
 * once. A refused set leaves the old profiles in force. The folder is watched. The folder mechanism is shared with
 * the rules (`shared/watched-folder.ts`); this file says what a profile file is.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseListFile, readFolder, WatchedFolder, type FolderKind, type FolderLoad } from '../shared/watched-folder.js';
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

const DEFAULT_PARSE: ParseOptions = { topicBase: 'sc' };

/** What the profiles folder holds under these options: lists of profiles, each known by its id. */
function profileFiles(opts: ParseOptions): FolderKind<LoadedProfile> {
  return {
    noun: 'profile',
    parseItem: (raw, file, index) => {
      const r = parseProfile(raw, file, index, opts);
      return r.ok ? { ok: true, item: { file, profile: r.profile, definition: raw } } : r;
    },
    idOf: (l) => l.profile.id,
  };
}

/** Parses one file's text; answers its profiles, or the problems (a file is all valid or refused). */
export function parseProfileFile(file: string, text: string, opts: ParseOptions = DEFAULT_PARSE): { profiles: LoadedProfile[]; errors: string[] } {
  const { items, errors } = parseListFile(file, text, profileFiles(opts));
  return { profiles: errors.length > 0 ? [] : items, errors };
}

/**
 * Reads and validates every profile file of `dir`: the profiles of the files that validate, and every problem of
 * the others (an id used twice keeps its first place). A missing folder is no profiles (`missing: true`).
 */
export async function readProfileFiles(dir: string, opts: ParseOptions = DEFAULT_PARSE): Promise<{ profiles: LoadedProfile[]; errors: string[]; missing: boolean }> {
  const { items, errors, missing } = await readFolder(dir, profileFiles(opts));
  return { profiles: items, errors, missing };
}

export interface ProfileLoaderOptions {
  dir: string;
  log: Logger;
  /** The gateway's topic base (`sc`, the default): no profile topic may be under it. */
  topicBase?: string;
  /** Told the whole new set each time one is put in force (the broker's ACL, the poller). */
  onChange?: (profiles: readonly LoadedProfile[]) => void;
  /** Quiet time after the last change in the folder before reloading; default 200 ms. */
  debounceMs?: number;  /** Told the outcome of each reload an edit in the folder caused, with the files changed (the audit trail). */
  edited?(load: FolderLoad, files: string[]): void;
}

export class ProfileLoader {
  readonly name = 'profile loader';
  private readonly folder: WatchedFolder<LoadedProfile>;

  constructor(opts: ProfileLoaderOptions) {
    this.folder = new WatchedFolder({
      dir: opts.dir,
      kind: profileFiles({ topicBase: opts.topicBase ?? DEFAULT_PARSE.topicBase }),
      log: opts.log,
      debounceMs: opts.debounceMs,
      edited: opts.edited,
      // A failing listener is logged; the set stays in force.
      apply: (profiles) => {
        try {
          opts.onChange?.(profiles);
        } catch (err) {
          opts.log.error({ err }, 'profile change listener failed');
        }
      },
    });
  }

  /**
   * Loads the folder and watches it. At start there is no set to keep, so a broken file does not cost the
   * others: the files that validate are put in force and the refused ones logged as errors (as rules do).
   */
  async start(): Promise<ProfileReloadResult> {
    return toResult(await this.folder.start());
  }

  stop(): void {
    this.folder.stop();
  }

  /** Reads and validates the folder; swaps the profiles only when all of it is valid. Reloads run one at a time. */
  async reload(): Promise<ProfileReloadResult> {
    return toResult(await this.folder.reload());
  }

  /** The profiles in force, as loaded (file and text as written). */
  list(): readonly LoadedProfile[] {
    return this.folder.list();
  }

  /** The profile in force with this id. */
  get(id: string): Profile | undefined {
    return this.folder.get(id)?.profile;
  }
}

function toResult(load: FolderLoad): ProfileReloadResult {
  return load.ok ? { ok: true, profiles: load.count } : load;
}
