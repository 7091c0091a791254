/**
 * The notification part of the site files (`SITES_DIR`, one YAML file per site): who is told what, through which
 * channel. Only `id`, `language`, `channels` and `notify` are read here; the rest of a site file (buildings, floors,
 * names) belongs to the site model and is ignored. The folder is watched: a reload validates every file and swaps
 * the whole set, or keeps the set in force when one file is wrong (`shared/watched-folder.ts`).
 */
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import type { Logger } from '../log.js';
import { SEVERITIES } from '../alarms/model.js';
import { WatchedFolder, type FolderKind, type FolderLoad, type ItemParse } from '../shared/watched-folder.js';
import { SITE_RE } from '../topics.js';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const mobiles = z.array(z.string().regex(/^\+?[0-9-]{5,20}$/, 'must be a mobile number')).min(1).max(50);
const names = z.array(z.string().min(1).max(64)).min(1);

/** One channel: exactly one of `webhook`, `wecom`, `dingtalk`, `email`. */
const ChannelSchema = z
  .strictObject({
    id: z.string().regex(ID_RE, 'must be 1-64 letters, digits, _ or -'),
    webhook: httpUrl.optional(),
    wecom: httpUrl.optional(),
    dingtalk: httpUrl.optional(),
    email: z.array(z.email('must be an e-mail address')).min(1).max(50).optional(),
    secret: z.string().min(1).max(256).optional(),
    mention: mobiles.optional(),
  })
  .superRefine((c, ctx) => {
    const kinds = (['webhook', 'wecom', 'dingtalk', 'email'] as const).filter((k) => c[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of webhook, wecom, dingtalk, email' });
    if (c.webhook && c.secret !== undefined && c.secret.length < 16) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'must be at least 16 characters' });
    if (c.secret !== undefined && (c.wecom || c.email)) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'only a webhook or a DingTalk robot is signed' });
    if (c.mention && !(c.wecom || c.dingtalk)) ctx.addIssue({ code: 'custom', path: ['mention'], message: 'only a WeCom or DingTalk robot mentions people' });
  });

const durationText = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 30s, 2m or 1h` });
    return z.NEVER;
  }
  return ms;
});

/** Which alarms an entry is about: every listed field must hold (a list is any of its values). */
const MatchSchema = z.strictObject({
  severity: z.array(z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` })).min(1).optional(),
  type: names.optional(),
  kind: names.optional(),
  zone: names.optional(),
});

const EntrySchema = z.strictObject({
  match: MatchSchema.default({}),
  /** Sent once, when the alarm is still unacknowledged this long after it was raised (an escalation). */
  after: durationText.optional(),
  channels: z.array(z.string().regex(ID_RE, 'must be a channel id')).min(1),
});

/** The part of a site file read here; any other key is the site model's. */
export const SiteNotifySchema = z
  .object({
    id: z.string().regex(SITE_RE, 'is not a site name'),
    language: z.enum(LANGUAGES, { error: `must be one of ${LANGUAGES.join(', ')}` }).default('zh-CN'),
    channels: z.array(ChannelSchema).default([]),
    notify: z.array(EntrySchema).default([]),
  })
  .superRefine((site, ctx) => {
    const ids = new Set<string>();
    site.channels.forEach((c, i) => {
      if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'id'], message: `${c.id} is used twice` });
      ids.add(c.id);
    });
    site.notify.forEach((e, i) =>
      e.channels.forEach((id, j) => {
        if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['notify', i, 'channels', j], message: `${id} is not a channel of this site` });
      }),
    );
  });

export type SiteNotify = z.output<typeof SiteNotifySchema>;
export type Channel = SiteNotify['channels'][number];
export type NotifyEntry = SiteNotify['notify'][number];
export type ChannelType = 'webhook' | 'wecom' | 'dingtalk' | 'email';

/** A site's notification settings with the file they came from. */
export interface LoadedSite {
  file: string;
  site: SiteNotify;
}

/** The type of a validated channel. */
export function channelType(c: Channel): ChannelType {
  if (c.webhook) return 'webhook';
  if (c.wecom) return 'wecom';
  if (c.dingtalk) return 'dingtalk';
  return 'email';
}

/** `channels[1].secret` from a zod path. */
function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), '');
}

/** Validates a site file's notification part; problems name the file, the site and the field. */
export function parseSiteNotify(raw: unknown, file: string): ItemParse<LoadedSite> {
  const r = SiteNotifySchema.safeParse(raw);
  if (r.success) return { ok: true, item: { file, site: r.data } };
  const id = typeof (raw as { id?: unknown } | null)?.id === 'string' ? ` site ${JSON.stringify((raw as { id: string }).id)}:` : '';
  return { ok: false, errors: r.error.issues.map((i) => `${file}:${id} ${fieldPath(i.path) || '(file)'}: ${i.message}`) };
}

const SITE_FILES: FolderKind<LoadedSite> = {
  noun: 'site',
  oneItemPerFile: true,
  parseItem: (raw, file) => parseSiteNotify(raw, file),
  idOf: (l) => l.site.id,
};

export interface SiteChannelsOptions {
  dir: string;
  log: Logger;
  /** Told each set put in force. */
  onChange?: (sites: readonly LoadedSite[]) => void;
  debounceMs?: number;
}

/** The notification settings of every site, from the watched sites folder. */
export class SiteChannels {
  readonly name = 'site channels';
  private readonly folder: WatchedFolder<LoadedSite>;

  constructor(opts: SiteChannelsOptions) {
    this.folder = new WatchedFolder({
      dir: opts.dir,
      kind: SITE_FILES,
      log: opts.log,
      debounceMs: opts.debounceMs,
      apply: (sites) => {
        try {
          opts.onChange?.(sites);
        } catch (err) {
          opts.log.error({ err }, 'site channels change listener failed');
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

  reload(): Promise<FolderLoad> {
    return this.folder.reload();
  }

  /** The settings of a site, when its file names any. */
  get(site: string): SiteNotify | undefined {
    return this.folder.get(site)?.site;
  }

  list(): readonly LoadedSite[] {
    return this.folder.list();
  }
}
