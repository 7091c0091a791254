import { mkdtemp, rm } from 'node:fs/promises';
import { afterEach, beforeEach, vi } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlarmService } from '../../../src/alarms/service.js';
import { Bus, type BusEventName, type BusEvents } from '../../../src/bus.js';
import { createLogger } from '../../../src/log.js';
import { StateStore } from '../../../src/storage/state/store.js';
import { Topics, type Publish } from '../../../src/topics.js';
import { WorkOrderService } from '../../../src/workorders/service.js';
import { NO_SITES, type SitePlaces } from '../../../src/shared/language.js';

/** One publish as the recording `publish` saw it; `body` is the parsed JSON, or '' for an empty payload. */
export interface Published {
  topic: string;
  retain: boolean;
  qos: number | undefined;
  body: any;
}

/** The services on a real state store in a temporary dir, with a recording publish, writeLine and bus. */
export interface Harness {
  dir: string;
  store: StateStore;
  bus: Bus;
  alarms: AlarmService;
  workOrders: WorkOrderService;
  /** The publishes on alarm and work order topics. */
  published: Published[];
  /** The publishes on incident topics (contract §11). */
  incidentPublishes: Published[];
  lines: string[];
  events: Array<{ event: BusEventName; data: unknown }>;
  /** The devices' parents, who is offline and when each was last seen (topology suppression). */
  devices: { parents: Map<string, string>; offline: Set<string>; lastSeen: Map<string, number> };
  /** Makes the next publishes fail (the broker is down). */
  failPublish: boolean;
  /** The sites' languages and zone names the services see (contract §12); NO_SITES unless a test sets it. */
  places: SitePlaces;
  /** Waits for both services' publishes. */
  settled(): Promise<void>;
  /** The alarm and work order publishes since the last call, once they are all out. */
  drain(): Promise<Published[]>;
  /** New service instances on the same store, as after a restart (not started). */
  restart(): void;
  close(): Promise<void>;
}

export const DUE_MS = { urgent: 30 * 60_000, high: 4 * 3_600_000, normal: 24 * 3_600_000, low: 72 * 3_600_000 };

const RECORDED: BusEventName[] = ['alarmRaised', 'alarmChanged', 'alarmCleared', 'workOrderChanged'];

/** A harness, filled into `h` when given (harnessPerTest keeps one object across tests). */
export async function createHarness(h = {} as Harness): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'alarms-'));
  const log = createLogger('silent');
  const store = new StateStore(dir);
  store.open();
  const bus = new Bus(log);
  const topics = new Topics('sc');
  Object.assign(h, { dir, store, bus, published: [], incidentPublishes: [], devices: { parents: new Map(), offline: new Set(), lastSeen: new Map() }, lines: [], events: [], failPublish: false, places: NO_SITES });
  const publish: Publish = async (topic, payload, opts) => {
    if (h.failPublish) throw new Error('broker is not running');
    const text = payload.toString();
    const record = { topic, retain: opts?.retain ?? false, qos: opts?.qos, body: text === '' ? '' : JSON.parse(text) };
    (topic.includes('/incidents/') ? h.incidentPublishes : h.published).push(record);
  };
  const build = () => {
    const topology = {
      parentOf: (id: string) => h.devices.parents.get(id),
      online: (id: string) => !h.devices.offline.has(id),
      lastSeen: (id: string) => h.devices.lastSeen.get(id) ?? null,
    };
    // Asks `h.places` each time, so a test may give the sites after the services are built.
    const places: SitePlaces = { language: (s) => h.places.language(s), place: (s, z) => h.places.place(s, z), timeZone: (s) => h.places.timeZone(s) };
    h.alarms = new AlarmService({ store, bus, topics, publish, writeLine: (line) => h.lines.push(line), topology, places, log });
    h.workOrders = new WorkOrderService({ store, bus, topics, publish, alarms: h.alarms, dueMs: DUE_MS, places, log });
  };
  build();
  for (const event of RECORDED) bus.on(event, h, (data: BusEvents[typeof event]) => void h.events.push({ event, data }));
  h.settled = async () => {
    await h.alarms.settled();
    await h.workOrders.settled();
  };
  h.drain = async () => {
    await h.settled();
    return h.published.splice(0);
  };
  h.restart = build;
  h.close = async () => {
    await h.workOrders.stop();
    await h.alarms.stop();
    store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return h;
}

/**
 * One started harness per test, at fake time `now` (with the work order service started too when asked): the
 * object answered stays the same, its contents are new for each test.
 */
export function harnessPerTest(now: number, { workOrders = false } = {}): Harness {
  const h = {} as Harness;
  beforeEach(async () => {
    vi.useFakeTimers({ now });
    await createHarness(h);
    h.alarms.start();
    if (workOrders) h.workOrders.start();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await h.close();
  });
  return h;
}
