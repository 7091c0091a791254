/**
 * Topology suppression (contract §11): while a device's ancestor is down (offline, or with an open mains loss,
 * breaker trip or offline alarm), the device's own offline and absent alarms are held back and counted on the
 * ancestor's alarm (`suppressed`). When the ancestor recovers, each held device that is still silent raises its own
 * alarm after its own rule's wait, counted from the recovery. Life-safety alarms are never held.
 */
import type { Logger } from '../log.js';
import { DueTimers } from '../shared/due-timers.js';
import type { AlarmKey, AlarmRaise } from './model.js';

/** An open alarm of one of these types on a device means what is behind it is down too. */
export const DOWN_TYPES: readonly string[] = ['mains_loss', 'breaker_trip', 'device_offline'];

/** How deep a parent chain is followed (registration refuses cycles; this bounds a bad row too). */
const MAX_DEPTH = 16;

/** The devices' parents and states, as the registry knows them. */
export interface Topology {
  parentOf(device: string): string | undefined;
  online(device: string): boolean;
  /** Epoch ms of the device's last message, or null. */
  lastSeen(device: string): number | null;
}

export interface SuppressionDeps {
  topology: Topology;
  /** Whether the device has an open alarm of a DOWN_TYPES type (or a held-back absent alarm of its own). */
  hasDownAlarm(site: string, device: string): boolean;
  /** Raises a held alarm once its wait after the recovery is over. */
  raise(req: AlarmRaise): void;
  log: Logger;
}

interface Held {
  req: AlarmRaise;
  at: number;
}

export class Suppression {
  /** By the ancestor that holds them: the held raises, by alarm key. */
  private readonly held = new Map<string, Map<string, Held>>();
  private readonly waits = new DueTimers();

  constructor(private readonly deps: SuppressionDeps) {}

  /** The device and its ancestors, nearest first (the device itself excluded). */
  ancestors(device: string | undefined): string[] {
    const out: string[] = [];
    let at = device && this.deps.topology.parentOf(device);
    while (at && out.length < MAX_DEPTH && !out.includes(at)) {
      out.push(at);
      at = this.deps.topology.parentOf(at);
    }
    return out;
  }

  /** The nearest ancestor that is down when this raise is one that may be held back; undefined otherwise. */
  holder(req: AlarmRaise): string | undefined {
    if (!req.suppressible || req.lifeSafety || !req.device) return undefined;
    return this.ancestors(req.device).find((a) => this.isDown(req.site, a));
  }

  /** Holds a raise back under `ancestor`; answers how many it now holds. */
  hold(ancestor: string, req: AlarmRaise, at: number): number {
    const held = this.held.get(ancestor) ?? new Map<string, Held>();
    this.held.set(ancestor, held);
    const key = keyOf(req);
    if (!held.has(key)) held.set(key, { req, at });
    this.waits.cancel(key);
    return held.size;
  }

  /** How many raises `device` holds back now. */
  count(device: string | undefined): number {
    return (device && this.held.get(device)?.size) || 0;
  }

  /** A held alarm's condition ended (the device reported again): nothing to raise later. */
  release(key: AlarmKey): void {
    const k = keyOf(key);
    this.waits.cancel(k);
    for (const held of this.held.values()) held.delete(k);
  }

  /** `device` may have recovered (back online, or a down alarm of its cleared): its held raises get their own wait. */
  recovered(site: string, device: string, at: number): void {
    const held = this.held.get(device);
    if (!held || this.isDown(site, device)) return;
    this.held.delete(device);
    this.deps.log.info({ site, device, held: held.size }, 'parent recovered: held alarms wait for their devices');
    for (const [key, h] of held) {
      const child = h.req.device!;
      this.waits.set(key, at + (h.req.suppressible?.afterMs ?? 0), () => {
        const seen = this.deps.topology.lastSeen(child);
        if (seen !== null && seen >= at) return;
        this.deps.raise({ ...h.req, at: Date.now() });
      });
    }
  }

  stop(): void {
    this.waits.clear();
  }

  private isDown(site: string, device: string): boolean {
    return !this.deps.topology.online(device) || this.deps.hasDownAlarm(site, device);
  }
}

function keyOf(k: AlarmKey): string {
  return `${k.site}\u0000${k.type}\u0000${k.source}`;
}
