/**
 * The notification part of the site files: who is told what, through which channel. The site model (src/sites/)
 * reads and watches the files; the notifier takes each site's `language`, `channels` and `notify` from it.
 */
import type { SiteFile } from '../sites/schema.js';

export type { Language } from '../shared/language.js';
export { channelType, type Channel, type ChannelType, type NotifyEntry } from '../sites/notify-schema.js';

/** What the notifier reads of a site file. */
export type SiteNotify = Pick<SiteFile, 'id' | 'language' | 'channels' | 'notify'>;

/** Where the notifier finds a site's settings: the site model. */
export interface NotifySites {
  get(site: string): SiteNotify | undefined;
}
