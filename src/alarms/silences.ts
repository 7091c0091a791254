/**
 * Silences (contract §11): maintenance and test windows. An alarm a silence matches is stored and listed with
 * `silenced: <id>` but not published, notified or sounded; when the silence ends and the condition still holds it
 * is published then. A life-safety alarm is never silenced; under `fireTest` a fire alarm is marked `test: true`.
 */
import { z } from 'zod';
import type { Bus } from '../bus.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import { DueTimers } from '../shared/due-timers.js';
import { sortableId } from '../shared/ids.js';
import type { StateStore } from '../storage/state/store.js';
import { SITE_RE } from '../topics.js';
import { SilenceMatchSchema, type Silence, type SilenceMatch } from './model.js';



/** What creating a silence takes (`POST /api/silences`). */
export const SilenceCreateSchema = z.strictObject({
  site: z.string().regex(SITE_RE, 'is not a site name'),
  match: SilenceMatchSchema,
  from: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time' }),
  reason: z.string().trim().min(1, 'must say why').max(500),
  fireTest: z.boolean().optional(),
});
export type SilenceCreate = z.infer<typeof SilenceCreateSchema>;

/** What a silence is matched against: the alarm about to be raised. */
export interface Silenceable {
  site: string;
  type: string;
  source: string;
  device?: string;
  kind?: string;
  zone?: string;
}

/** A silence may last at most this long (a forgotten maintenance window must not hide a site for ever). */
export const MAX_SILENCE_MS = 7 * 24 * 3600_000;

export interface SilenceDeps {
  store: StateStore;
  bus: Bus;
  log: Logger;
  /** A silence ended (on time or deleted): the alarms raised under it are published if still open. */
  ended(silence: Silence): void;
  now?: () => number;
}

/** The silences: stored, armed to start and end on time, and asked by the alarm service before each raise. */
export class Silences {
  readonly name = 'silences';
  private readonly live = new Map<string, Silence>();
  private readonly timers = new DueTimers();
  private readonly now: () => number;

  constructor(private readonly deps: SilenceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Loads the silences not yet ended; one whose end passed while the gateway was down ends now. */
  start(): void {
    const rows = this.deps.store.db.prepare('SELECT body FROM silences WHERE ended_at IS NULL').all() as Array<{ body: string }>;
    for (const r of rows) this.arm(JSON.parse(r.body) as Silence);
  }

  stop(): void {
    this.timers.clear();
  }

  create(req: SilenceCreate, by: string): Silence {
    const checked = SilenceCreateSchema.safeParse(req);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ValidationError(issue.path.map(String).join('.'), issue.message);
    }
    const now = this.now();
    const from = checked.data.from ? Date.parse(checked.data.from) : now;
    const to = Date.parse(checked.data.to);
    if (to <= Math.max(from, now)) throw new ValidationError('to', 'must be later than from and than now');
    if (to - from > MAX_SILENCE_MS) throw new ValidationError('to', 'a silence lasts at most 7 days');
    const silence: Silence = {
      id: sortableId('sil'),
      site: checked.data.site,
      match: checked.data.match,
      from: iso(from),
      to: iso(to),
      reason: checked.data.reason,
      ...(checked.data.fireTest ? { fireTest: true } : {}),
      state: from > now ? 'pending' : 'active',
      createdBy: by,
      createdAt: iso(now),
    };
    this.save(silence);
    this.deps.log.info({ silence: silence.id, site: silence.site, match: silence.match, from: silence.from, to: silence.to, by }, 'silence created');
    this.deps.bus.emit('silenceChanged', { silence, change: 'created' });
    this.arm(silence);
    return silence;
  }

  /** Ends a silence now (`DELETE /api/silences/{id}`); ending an ended one answers it as it is. */
  end(id: string, by: string): Silence {
    const s = this.live.get(id) ?? this.get(id);
    if (!s) throw new NotFoundError('silence', id);
    if (s.state === 'ended') return s;
    return this.finish(s, 'deleted', by);
  }

  get(id: string): Silence | undefined {
    const live = this.live.get(id);
    if (live) return live;
    const row = this.deps.store.db.prepare('SELECT body FROM silences WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Silence);
  }

  /** Silences of the given sites (all when undefined), newest first; `state` filters. */
  list(filter: { site?: string; sites?: readonly string[]; state?: Silence['state'] } = {}): Silence[] {
    if (filter.sites?.length === 0) return [];
    const rows = this.deps.store.db.prepare('SELECT body FROM silences ORDER BY from_at DESC, id DESC LIMIT 1000').all() as Array<{ body: string }>;
    return rows
      .map((r) => this.live.get((JSON.parse(r.body) as Silence).id) ?? (JSON.parse(r.body) as Silence))
      .filter((s) => (!filter.site || s.site === filter.site) && (!filter.sites || filter.sites.includes(s.site)) && (!filter.state || s.state === filter.state));
  }

  /** The active silence that matches an alarm about to be raised, if any. */
  matching(a: Silenceable): Silence | undefined {
    for (const s of this.live.values()) if (s.state === 'active' && s.site === a.site && matches(s.match, a)) return s;
    return undefined;
  }

  private arm(s: Silence): void {
    const from = Date.parse(s.from);
    const to = Date.parse(s.to);
    this.live.set(s.id, s);
    if (to <= this.now()) {
      this.finish(s, 'ended', 'schedule');
      return;
    }
    if (s.state === 'pending') {
      this.timers.set(`${s.id}:from`, from, () => this.begin(s.id));
    }
    this.timers.set(`${s.id}:to`, to, () => {
      const live = this.live.get(s.id);
      if (live) this.finish(live, 'ended', 'schedule');
    });
  }

  private begin(id: string): void {
    const s = this.live.get(id);
    if (!s || s.state !== 'pending') return;
    const active: Silence = { ...s, state: 'active' };
    this.live.set(id, active);
    this.save(active);
    this.deps.log.info({ silence: id, site: s.site }, 'silence started');
    this.deps.bus.emit('silenceChanged', { silence: active, change: 'started' });
  }

  private finish(s: Silence, change: 'ended' | 'deleted', by: string): Silence {
    this.timers.cancel(`${s.id}:from`);
    this.timers.cancel(`${s.id}:to`);
    this.live.delete(s.id);
    const ended: Silence = { ...s, state: 'ended', endedAt: iso(this.now()), ...(change === 'deleted' ? { endedBy: by } : {}) };
    this.save(ended);
    this.deps.log.info({ silence: s.id, site: s.site, by }, change === 'deleted' ? 'silence ended early' : 'silence ended');
    this.deps.bus.emit('silenceChanged', { silence: ended, change });
    try {
      this.deps.ended(ended);
    } catch (err) {
      this.deps.log.error({ err, silence: s.id }, 'alarms held by a silence not published');
    }
    return ended;
  }

  private save(s: Silence): void {
    this.deps.store.db
      .prepare(
        `INSERT INTO silences (id, site, from_at, to_at, ended_at, body) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET ended_at = excluded.ended_at, body = excluded.body`,
      )
      .run(s.id, s.site, Date.parse(s.from), Date.parse(s.to), s.endedAt ? Date.parse(s.endedAt) : null, JSON.stringify(s));
  }
}

/** Every field the match names must hold (a silence of zone B2 for kind lighting: B2's lighting only). */
export function matches(m: SilenceMatch, a: Silenceable): boolean {
  if (m.zone !== undefined && a.zone !== m.zone) return false;
  if (m.kind !== undefined && a.kind !== m.kind) return false;
  if (m.type !== undefined && a.type !== m.type) return false;
  if (m.devices !== undefined && !m.devices.includes(a.device ?? a.source)) return false;
  return true;
}

const iso = (ms: number) => new Date(ms).toISOString();
