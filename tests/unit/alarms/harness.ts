import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlarmService } from '../../../src/alarms/service.js';
import { Bus, type BusEventName, type BusEvents } from '../../../src/bus.js';
import { createLogger } from '../../../src/log.js';
import { StateStore } from '../../../src/storage/state/store.js';
import { Topics, type Publish } from '../../../src/topics.js';
import { WorkOrderService } from '../../../src/workorders/service.js';

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
  published: Published[];
  lines: string[];
  events: Array<{ event: BusEventName; data: unknown }>;
  /** Makes the next publishes fail (the broker is down). */
  failPublish: boolean;
  /** Waits for both services' publishes. */
  settled(): Promise<void>;
  /** New service instances on the same store, as after a restart (not started). */
  restart(): void;
  close(): Promise<void>;
}

export const DUE_MS = { urgent: 30 * 60_000, high: 4 * 3_600_000, normal: 24 * 3_600_000, low: 72 * 3_600_000 };

const RECORDED: BusEventName[] = ['alarmRaised', 'alarmChanged', 'alarmCleared', 'workOrderChanged'];

export async function createHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'alarms-'));
  const log = createLogger('silent');
  const store = new StateStore(dir);
  store.open();
  const bus = new Bus(log);
  const topics = new Topics('sc');
  const h = { dir, store, bus, published: [], lines: [], events: [], failPublish: false } as unknown as Harness;
  const publish: Publish = async (topic, payload, opts) => {
    if (h.failPublish) throw new Error('broker is not running');
    const text = payload.toString();
    h.published.push({ topic, retain: opts?.retain ?? false, qos: opts?.qos, body: text === '' ? '' : JSON.parse(text) });
  };
  const build = () => {
    h.alarms = new AlarmService({ store, bus, topics, publish, writeLine: (line) => h.lines.push(line), log });
    h.workOrders = new WorkOrderService({ store, bus, topics, publish, alarms: h.alarms, dueMs: DUE_MS, log });
  };
  build();
  for (const event of RECORDED) bus.on(event, h, (data: BusEvents[typeof event]) => void h.events.push({ event, data }));
  h.settled = async () => {
    await h.alarms.settled();
    await h.workOrders.settled();
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
