// The live store every page reads: open alarms, work orders and devices by id.
import { useEffect, useState } from '/vendor/htm-preact.js';

/**
 * What the pages show, kept current by the live stream: open alarms, work orders and devices by id.
 * Pages re-render through `useStore` whenever it changes.
 */
export const store = {
  me: undefined,
  alarms: new Map(),
  workOrders: new Map(),
  devices: new Map(),
  live: false,
  /** The newest critical alarm not yet looked at: the banner flashes while it is set. */
  alert: undefined,
  sound: localStorage.getItem('sound') !== 'off',
};
const listeners = new Set();
export function changed() {
  for (const fn of listeners) fn();
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

/** The sites the signed-in person works on: an operator's own, or every site with a device (admin). */
export function sites() {
  if (store.me?.sites) return store.me.sites;
  return [...new Set([...store.devices.values()].map((d) => d.site))].sort();
}

