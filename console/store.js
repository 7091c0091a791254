// The live store every page reads: open alarms, incidents, silences, work orders and devices by id.
import { useEffect, useState } from '/vendor/htm-preact.js';

/**
 * What the pages show, kept current by the live stream: open alarms, open incidents, silences, work orders and
 * devices by id. Pages re-render through `useStore` whenever it changes.
 */
export const store = {
  me: undefined,
  alarms: new Map(),
  incidents: new Map(),
  silences: new Map(),
  workOrders: new Map(),
  devices: new Map(),
  /** The sites by id as GET /api/sites describes them (buildings, floors, plans, duty, time zone): console/sites.js. */
  sites: new Map(),
  /** When the data shown was last current (epoch ms): the offline bar names it. */
  dataAt: 0,
  /** The last new alarm in words, for screen readers (an aria-live region reads it out). */
  announce: '',
  /** The live stream is connected; `lost` once it broke or could not connect, until it is back. */
  live: false,
  lost: false,
  /** The alarm sound's mute: until when (epoch ms), and the alarms sounding when it was pressed. */
  mute: { until: 0, ids: new Set() },
  /** The browser holds the alarm sound back until someone clicks (its autoplay rule). */
  audioBlocked: false,
};
const listeners = new Set();
export function changed() {
  for (const fn of listeners) fn();
}
/** Calls `fn` on every change of the store (outside the pages); answers the function that stops it. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
export function useStore() {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((n) => n + 1);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return store;
}

/** Re-renders every `ms` while mounted (a countdown); answers the current time. */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** The sites the signed-in person works on: an operator's own, or every site with a device (admin). */
export function sites() {
  if (store.me?.sites) return store.me.sites;
  return [...new Set([...store.devices.values()].map((d) => d.site))].sort();
}

/**
 * Whether an alarm is still the desk's business: not cleared, or a critical alarm its condition cleared before
 * anyone acknowledged it (it stays until acknowledged).
 */
export function isOpenAlarm(a) {
  return a.state !== 'cleared' || (a.acknowledged === false && a.severity === 'critical');
}

/** Whether an alarm still waits for a person's acknowledgement. */
export function needsAck(a) {
  return a.acknowledged === undefined ? a.state === 'active' : a.acknowledged === false;
}

/** Cleared by its condition but not yet acknowledged: shown as "cleared — awaiting acknowledgement". */
export function awaitingAck(a) {
  return a.state === 'cleared' && a.acknowledged === false;
}

/** An open, unacknowledged life-safety or critical alarm no silence holds: it sounds and has the banner. */
export function isAlarming(a) {
  return isOpenAlarm(a) && needsAck(a) && !a.silenced && (a.lifeSafety === true || a.severity === 'critical');
}

/** Keeps an alarm as the gateway last described it: in the store while open, out of it once closed. */
export function putAlarm(a) {
  if (isOpenAlarm(a)) store.alarms.set(a.id, a);
  else store.alarms.delete(a.id);
}
