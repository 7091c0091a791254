/**
 * Doors a fire released and nobody locked again (issue 17). A fire rule unlocks the access devices of its zone
 * (rules/fire.yaml `commands`); once every fire alarm that released a door is no longer active (cleared, or
 * cleared and acknowledged) and the door's last report since the release says `locked: false`, the door is
 * flagged `unlockedAfterFire` in the device JSON until it reports `locked: true`.
 */
import type { Bus, BusEvents } from '../bus.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../storage/state/store.js';

/** What the part reads of the rule actions it watches (structural: devices/ imports no rule module). */
export interface ReleasingActions {
  raiseAlarm(req: { kind?: string; rule: string }): { id: string; raised: boolean };
  sendCommand(device: { id: string; kind: string; site: string }, action: string, params: Record<string, unknown> | undefined, rule: string): void;
}

export interface FireReleaseDeps {
  bus: Bus;
  store: StateStore;
  /** Whether the alarm is still active (neither cleared nor closed); read at start only. */
  alarmActive(id: string): boolean;
  log: Logger;
}

/** One released door. */
interface Release {
  site: string;
  /** Every fire alarm that released it, and those of them still active. */
  alarms: Set<string>;
  active: Set<string>;
  /** Its last report of `locked` since the release; undefined until it reports. */
  locked?: boolean;
  releasedAt: number;
}

interface ReleaseRow {
  device: string;
  site: string;
  alarms: string;
  locked: number | null;
  released_at: number;
}

/** The alarms a fire raises come from fire detectors (fire_alarm, fire_confirmed: both of `kind: fire`). */
const FIRE_KIND = 'fire';

/** Remembers the doors fire rules released and flags those left unlocked after the fire. */
export class FireRelease {
  /** The stage its failures are counted under. */
  readonly name = 'fire release';
  /** By device id: a map lookup is all an access reading of a door no fire released costs. */
  private readonly releases = new Map<string, Release>();
  /** Per rule, the alarm its last newly raised alarm was, when a fire raised it (the commands follow the raise). */
  private readonly fireRaisedBy = new Map<string, string>();

  constructor(private readonly deps: FireReleaseDeps) {}

  start(): void {
    const rows = this.deps.store.db.prepare('SELECT device, site, alarms, locked, released_at FROM fire_releases').all() as ReleaseRow[];
    for (const row of rows) {
      const alarms = new Set(JSON.parse(row.alarms) as string[]);
      // An alarm cleared while the gateway was down is no longer active: asked once, here, not per message.
      const active = new Set([...alarms].filter((id) => this.deps.alarmActive(id)));
      this.releases.set(row.device, { site: row.site, alarms, active, locked: row.locked === null ? undefined : row.locked === 1, releasedAt: row.released_at });
    }
    this.deps.bus.on('telemetryAccepted', this, (m) => this.reported(m));
    this.deps.bus.on('alarmCleared', this, ({ alarm }) => this.alarmEnded(alarm.id));
    // A device registered again under the id of a deleted door is another door.
    this.deps.bus.on('deviceRegistered', this, ({ device }) => {
      const r = this.releases.get(device);
      if (r) this.changing(device, r, () => this.forget(device));
    });
    // A fire alarm cleared by its detector's reset and raised again before anyone acknowledged it is active again.
    this.deps.bus.on('alarmChanged', this, ({ alarm, change }) => {
      if (change === 'reopened') this.alarmActiveAgain(alarm.id);
    });
  }

  stop(): void {
    this.deps.bus.removeListeners(this);
    this.releases.clear();
    this.fireRaisedBy.clear();
  }

  /** Whether the door is flagged: released by a fire that is over, and its last report says unlocked. */
  unlockedAfterFire(device: string): boolean {
    const r = this.releases.get(device);
    return r !== undefined && r.active.size === 0 && r.locked === false;
  }

  /**
   * The rule actions, watched: an `unlock` a rule sends to an access device right after a fire raised its alarm is
   * a fire's release (rules/effects.ts sends a rule's commands after its alarm is newly raised, in the same call).
   */
  observe<A extends ReleasingActions>(actions: A): A {
    const watched: ReleasingActions = {
      raiseAlarm: (req) => {
        const result = actions.raiseAlarm(req);
        if (result.raised && req.kind === FIRE_KIND) this.fireRaisedBy.set(req.rule, result.id);
        else if (result.raised) this.fireRaisedBy.delete(req.rule);
        return result;
      },
      sendCommand: (device, action, params, rule) => {
        const alarm = this.fireRaisedBy.get(rule);
        if (alarm !== undefined && action === 'unlock' && device.kind === 'access') this.released(device.id, device.site, alarm);
        actions.sendCommand(device, action, params, rule);
      },
    };
    return { ...actions, ...watched };
  }

  private released(device: string, site: string, alarm: string): void {
    const r: Release = this.releases.get(device) ?? { site, alarms: new Set(), active: new Set(), releasedAt: Date.now() };
    // A door still flagged from an earlier fire is released again: no longer flagged while this fire lasts.
    this.changing(device, r, () => {
      r.alarms.add(alarm);
      r.active.add(alarm);
      this.releases.set(device, r);
    });
    this.save(device, r);
    this.deps.log.info({ site, device, alarm }, 'door released by fire');
  }

  private reported(m: BusEvents['telemetryAccepted']): void {
    if (m.kind !== 'access') return;
    const r = this.releases.get(m.device);
    const locked = m.fields.locked;
    if (r === undefined || typeof locked !== 'boolean') return;
    if (locked && r.active.size === 0) return this.changing(m.device, r, () => this.forget(m.device));
    if (r.locked === locked) return;
    this.changing(m.device, r, () => {
      r.locked = locked;
      this.save(m.device, r);
    });
  }

  private alarmEnded(alarm: string): void {
    for (const [device, r] of this.releases) {
      if (!r.active.has(alarm)) continue;
      // The fire is over: a door that reported itself locked again needs nothing more; one that has not
      // reported since the release is flagged by its first report if that says unlocked.
      this.changing(device, r, () => {
        r.active.delete(alarm);
        if (r.active.size === 0 && r.locked === true) this.forget(device);
      });
    }
  }

  private alarmActiveAgain(alarm: string): void {
    for (const [device, r] of this.releases) if (r.alarms.has(alarm)) this.changing(device, r, () => r.active.add(alarm));
  }

  /** Runs `change` on a door's release and tells the log and the bus (the console's live stream) when its flag turned. */
  private changing(device: string, r: Release, change: () => void): void {
    const before = this.unlockedAfterFire(device);
    change();
    const after = this.unlockedAfterFire(device);
    if (before === after) return;
    this.deps.log.info({ site: r.site, device }, after ? 'door left unlocked after fire' : 'door no longer flagged after fire');
    this.deps.bus.emit('unlockedAfterFireChanged', { site: r.site, device, unlockedAfterFire: after });
  }

  private save(device: string, r: Release): void {
    this.deps.store.db
      .prepare(
        `INSERT INTO fire_releases (device, site, alarms, locked, released_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(device) DO UPDATE SET site = excluded.site, alarms = excluded.alarms, locked = excluded.locked`,
      )
      .run(device, r.site, JSON.stringify([...r.alarms]), r.locked === undefined ? null : Number(r.locked), r.releasedAt);
  }

  private forget(device: string): void {
    this.releases.delete(device);
    this.deps.store.db.prepare('DELETE FROM fire_releases WHERE device = ?').run(device);
  }
}
