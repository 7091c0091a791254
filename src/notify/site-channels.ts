/**
 * The notification part of the site files: who is told what, through which channel. The site model (src/sites/)
 * reads and watches the files; the notifier takes each site's `language`, `channels` and `notify` from it.
 */
import type { ItemParse } from '../shared/watched-folder.js';
import { parseSite } from '../sites/parse.js';
import type { SiteFile } from '../sites/schema.js';

export type { Language } from '../shared/language.js';
export { channelType, type Channel, type ChannelType, type NotifyEntry } from '../sites/notify-schema.js';

/** What the notifier reads of a site file. */
export type SiteNotify = Pick<SiteFile, 'id' | 'language' | 'channels' | 'notify'>;

/** Where the notifier finds a site's settings: the site model. */
export interface NotifySites {
  get(site: string): SiteNotify | undefined;
}

/** A site's notification settings with the file they came from. */
export interface LoadedSite {
  file: string;
  site: SiteNotify;
}

/** Validates a whole site file and keeps its notification part; problems name the file, the site and the field. */
export function parseSiteNotify(raw: unknown, file: string, sitesDir = '.'): ItemParse<LoadedSite> {
  const r = parseSite(raw, file, sitesDir);
  if (!r.ok) return r;
  const { id, language, channels, notify } = r.item.site;
  return { ok: true, item: { file, site: { id, language, channels, notify } } };
}
