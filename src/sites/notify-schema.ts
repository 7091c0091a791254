/**
 * The notification part of a site file (contract §16): the channels a site is told through and which alarms go to
 * which channel. Read with the rest of the file by the site model; the notifier takes it from there.
 */
import { z } from 'zod';
import { SEVERITIES } from '../alarms/model.js';
import { parseDuration } from '../config/duration.js';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const mobiles = z.array(z.string().regex(/^\+?[0-9-]{5,20}$/, 'must be a mobile number')).min(1).max(50);
const names = z.array(z.string().min(1).max(64)).min(1);

/** One channel: exactly one of `webhook`, `wecom`, `dingtalk`, `email`. */
export const ChannelSchema = z
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

export const NotifyEntrySchema = z.strictObject({
  match: MatchSchema.default({}),
  /** Sent once, when the alarm is still unacknowledged this long after it was raised (an escalation). */
  after: durationText.optional(),
  channels: z.array(z.string().regex(ID_RE, 'must be a channel id')).min(1),
});

export type Channel = z.output<typeof ChannelSchema>;
export type NotifyEntry = z.output<typeof NotifyEntrySchema>;
export type ChannelType = 'webhook' | 'wecom' | 'dingtalk' | 'email';

/** Channel ids unique, and every entry's channels among them; issues go to `ctx` under the file's paths. */
export function checkChannels(site: { channels: readonly Channel[]; notify: readonly NotifyEntry[] }, ctx: z.RefinementCtx): void {
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
}

/** The type of a validated channel. */
export function channelType(c: Channel): ChannelType {
  if (c.webhook) return 'webhook';
  if (c.wecom) return 'wecom';
  if (c.dingtalk) return 'dingtalk';
  return 'email';
}
