/**
 * Routes each accepted message to the conditions that asked for it, indexed by kind, then by telemetry
 * field or event type: this runs for every message, so a message no rule reads costs a few map lookups.
 */
import type { Origin } from '../bus.js';
import type { EventMessage, StatusMessage, Subscriptions, TelemetryMessage } from './conditions/types.js';
import type { TagLookup, Where } from './match.js';

/** Whoever subscribed: its failures go to `fail` (the engine detaches that rule alone). */
export interface Owner {
  fail(err: unknown): void;
}

interface Entry {
  owner: Owner;
  match?: (w: Where, tags: TagLookup) => boolean;
  subs: Subscriptions;
  /** The message this entry last saw, so a message with several of its fields calls it once. */
  seen: number;
  removed: boolean;
}

interface KindIndex {
  telemetry: Map<string, Entry[]>;
  events: Map<string, Entry[]>;
  status: Entry[];
  activity: Entry[];
}

export class Router {
  private readonly kinds = new Map<string, KindIndex>();
  private seq = 0;

  constructor(private readonly tags: TagLookup) {}

  /** Registers `subs` for messages of `kinds` whose device passes `match`; answers the removal. */
  add(kinds: readonly string[], match: Entry['match'], subs: Subscriptions, owner: Owner): () => void {
    const entry: Entry = { owner, match, subs, seen: -1, removed: false };
    for (const kind of kinds) {
      const idx = this.index(kind);
      for (const f of subs.telemetry?.fields ?? []) idx.telemetry.set(f, [...(idx.telemetry.get(f) ?? []), entry]);
      for (const t of subs.events?.types ?? []) idx.events.set(t, [...(idx.events.get(t) ?? []), entry]);
      if (subs.status) idx.status = [...idx.status, entry];
      if (subs.activity) idx.activity = [...idx.activity, entry];
    }
    return () => this.remove(entry);
  }

  telemetry(m: TelemetryMessage): void {
    const idx = this.kinds.get(m.kind);
    if (!idx) return;
    const seq = ++this.seq;
    for (const field in m.fields) {
      const list = idx.telemetry.get(field);
      if (list) for (const e of list) if (e.seen !== seq) this.call(e, m, seq, () => e.subs.telemetry!.on(m));
    }
    this.activity(m, idx);
  }

  event(m: EventMessage): void {
    const idx = this.kinds.get(m.kind);
    if (!idx) return;
    const list = idx.events.get(m.type);
    const seq = ++this.seq;
    if (list) for (const e of list) this.call(e, m, seq, () => e.subs.events!.on(m));
    this.activity(m, idx);
  }

  status(m: StatusMessage): void {
    const idx = this.kinds.get(m.kind);
    if (!idx) return;
    const seq = ++this.seq;
    for (const e of idx.status) this.call(e, m, seq, () => e.subs.status!(m));
  }

  /** Any other message that shows the device is there (command results). */
  activity(m: Origin, idx = this.kinds.get(m.kind)): void {
    if (!idx || idx.activity.length === 0) return;
    const seq = ++this.seq;
    for (const e of idx.activity) this.call(e, m, seq, () => e.subs.activity!(m));
  }

  /** Calls `fn` when `e` covers the message's device; a throw (the match's tag lookup too) fails that owner alone. */
  private call(e: Entry, w: Where, seq: number, fn: () => void): void {
    e.seen = seq;
    if (e.removed) return;
    try {
      if (e.match === undefined || e.match(w, this.tags)) fn();
    } catch (err) {
      e.owner.fail(err);
    }
  }

  private index(kind: string): KindIndex {
    let idx = this.kinds.get(kind);
    if (!idx) {
      idx = { telemetry: new Map(), events: new Map(), status: [], activity: [] };
      this.kinds.set(kind, idx);
    }
    return idx;
  }

  /** Lists are replaced, not edited, so a dispatch running over the old one is not disturbed. */
  private remove(entry: Entry): void {
    if (entry.removed) return;
    entry.removed = true;
    const without = (list: Entry[]) => list.filter((e) => e !== entry);
    const prune = (map: Map<string, Entry[]>) => {
      for (const [key, list] of map) {
        if (!list.includes(entry)) continue;
        const rest = without(list);
        if (rest.length > 0) map.set(key, rest);
        else map.delete(key);
      }
    };
    for (const idx of this.kinds.values()) {
      prune(idx.telemetry);
      prune(idx.events);
      idx.status = without(idx.status);
      idx.activity = without(idx.activity);
    }
  }
}
