// The last data the console showed, kept in the browser so a guard's phone that loses the connection (or opens the
// console without one) still shows it, with the time it is from; and the service worker that keeps the app's files.
import { store, subscribe } from './store.js';

const KEY = 'snapshot';
/** How long after a change the snapshot is written: a burst of live events is written once. */
const SAVE_AFTER_MS = 1000;
/** Settled work orders are left out: the snapshot is for the shift at hand and must fit the browser's storage. */
const MAX_WORK_ORDERS = 500;

/**
 * Where the snapshot lives: beside the token. A remembered sign-in (a desk PC) keeps it across browser restarts;
 * otherwise (a shared phone) it goes with the tab, as the token does.
 */
function storage() {
  return localStorage.getItem('token') ? localStorage : sessionStorage;
}

/** The snapshot last written for this browser tab: `{ at, me, definitions, sites, alarms, ... }`, or undefined. */
export function lastSnapshot() {
  try {
    const text = sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
    return text ? JSON.parse(text) : undefined;
  } catch (err) {
    console.warn('offline snapshot unreadable', err);
    return undefined;
  }
}

/** Puts a snapshot's data in the store, marked as from its time; answers whether there was one. */
export function restoreSnapshot(snap) {
  if (!snap) return false;
  for (const name of ['alarms', 'incidents', 'silences', 'workOrders', 'devices', 'sites']) {
    store[name] = new Map((snap[name] ?? []).map((x) => [x.id, x]));
  }
  store.dataAt = snap.at;
  return true;
}

function write(definitions) {
  const settled = new Set(definitions?.workOrders?.settled ?? []);
  const snap = {
    at: store.dataAt,
    me: store.me,
    definitions,
    alarms: [...store.alarms.values()],
    incidents: [...store.incidents.values()],
    silences: [...store.silences.values()],
    workOrders: [...store.workOrders.values()].filter((w) => !settled.has(w.status)).slice(0, MAX_WORK_ORDERS),
    devices: [...store.devices.values()],
    sites: [...store.sites.values()],
  };
  try {
    storage().setItem(KEY, JSON.stringify(snap));
  } catch (err) {
    // Full storage: the console still works, it only cannot show this data offline.
    console.warn('offline snapshot not kept', err);
  }
}

/** Keeps writing the snapshot while the data is live (a second after each change); answers the function that stops it. */
export function keepSnapshots(definitions) {
  let timer;
  const off = subscribe(() => {
    if (!store.live || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (store.live) write(definitions());
    }, SAVE_AFTER_MS);
  });
  return () => {
    off();
    clearTimeout(timer);
  };
}

/** Signing out forgets the data too: the next person on this phone sees none of it. */
export function forgetSnapshot() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  // And the floor plans the service worker kept (the app's own files stay: they hold nothing of a site).
  if (!('caches' in self)) return;
  caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith('console-')).map(async (name) => {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) if (new URL(req.url).pathname.startsWith('/api/')) await cache.delete(req);
  }))).catch((err) => console.warn('kept plans not removed', err));
}

/**
 * The service worker (`/sw.js`, served by the gateway at the root so it covers `/`) keeps the console's own files
 * for a start without a connection. Browsers allow it on https and on localhost only; elsewhere the console still
 * keeps its last data while the page is open.
 */
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !isSecureContext) return;
  navigator.serviceWorker.register('/sw.js').catch((err) => console.warn('service worker not registered', err));
}
