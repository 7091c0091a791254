/**
 * The site model (contract §12): every site file of the sites folder (`SITES_DIR`), watched and reloaded as a
 * whole (validate all, then swap; the model in force stays when a file is wrong). The one reader of site files:
 * the notifier takes each site's channels from here, and the parts that write about a site ask it for names,
 * languages and time zones through `SitePlaces`.
 */
import type { Logger } from '../log.js';
import { DEFAULT_LANGUAGE, NO_SITES, type Language, type PlaceNames, type PlaceWords, type SitePlaces } from '../shared/language.js';
import { WatchedFolder, type FolderKind, type FolderLoad } from '../shared/watched-folder.js';
import { parseSite, type LoadedSite, type Place } from './parse.js';
import type { SiteFile } from './schema.js';

export interface SiteModelOptions {
  dir: string;
  log: Logger;
  /** The gateway's own time zone, for a site whose file gives none (or that has no file). */
  timeZone?: string;
  /** Told each set put in force (the notifier re-arms its escalations); a throw is logged. */
  onChange?: (sites: readonly LoadedSite[]) => void;
  /** Quiet time after the last change in the folder before reloading (default 200 ms). */
  debounceMs?: number;  /** Told the outcome of each reload an edit in the folder caused, with the files changed (the audit trail). */
  edited?(load: FolderLoad, files: string[]): void;
}

const NO_NAMES: PlaceNames = Object.freeze({});

/** The sites in force, from the watched sites folder. */
export class SiteModel implements SitePlaces, PlaceWords {
  readonly name = 'site model';
  private readonly folder: WatchedFolder<LoadedSite>;

  constructor(private readonly opts: SiteModelOptions) {
    const kind: FolderKind<LoadedSite> = {
      noun: 'site',
      oneItemPerFile: true,
      parseItem: (raw, file) => parseSite(raw, file, opts.dir),
      idOf: (l) => l.site.id,
    };
    this.folder = new WatchedFolder({
      dir: opts.dir,
      kind,
      log: opts.log,
      debounceMs: opts.debounceMs,
      edited: opts.edited,
      apply: (sites) => {
        try {
          opts.onChange?.(sites);
        } catch (err) {
          opts.log.error({ err }, 'site change listener failed');
        }
      },
    });
  }

  start(): Promise<FolderLoad> {
    return this.folder.start();
  }

  stop(): void {
    this.folder.stop();
  }

  /** Reads the folder again; the model in force stays unless every file is valid. */
  reload(): Promise<FolderLoad> {
    return this.folder.reload();
  }

  /** The site files in force, in file order. */
  list(): readonly LoadedSite[] {
    return this.folder.list();
  }

  /** A site's file as validated (with its channels and notify entries), when it has one. */
  get(site: string): SiteFile | undefined {
    return this.folder.get(site)?.site;
  }

  /** A site as loaded, with the index of its places. */
  loaded(site: string): LoadedSite | undefined {
    return this.folder.get(site);
  }

  /** A floor or zone of a site's file. */
  placeOf(site: string, zone: string): Place | undefined {
    return this.folder.get(site)?.places.get(zone);
  }

  /** Whether a site's file knows `zone`: undefined when the site has no file (nothing can be said). */
  knowsZone(site: string, zone: string): boolean | undefined {
    const loaded = this.folder.get(site);
    return loaded && loaded.places.has(zone);
  }

  language(site: string): Language {
    return this.folder.get(site)?.site.language ?? DEFAULT_LANGUAGE;
  }

  /** One map lookup: asked for every alarm and work order. */
  place(site: string, zone: string | undefined): PlaceNames {
    if (zone === undefined) return NO_NAMES;
    return this.folder.get(site)?.places.get(zone)?.names ?? NO_NAMES;
  }

  placeText(site: string, zone: string | undefined, language: Language): string | undefined {
    const p = zone === undefined ? undefined : this.folder.get(site)?.places.get(zone);
    if (!p) return undefined;
    // A floor's name ("12层", "Floor 12") says where only with its building's; a zone's name stands alone.
    if (!p.floor || !p.building) return p.name[language];
    return language === 'zh-CN' ? `${p.building.name[language]}${p.name[language]}` : `${p.building.name[language]}, ${p.name[language]}`;
  }

  timeZone(site: string): string {
    return this.folder.get(site)?.site.timezone ?? this.opts.timeZone ?? NO_SITES.timeZone(site);
  }
}
