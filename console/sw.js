// The console's service worker: keeps the app's own files (the shell) so the console opens without a connection.
// The gateway serves it at /sw.js with `self.SHELL` (the files) and `self.SHELL_VERSION` (from their content) set
// before this text (src/api/routes/console.ts). The API is never cached here: the pages keep their last data
// themselves (console/offline.js), with the time it is from.
const CACHE = `console-${self.SHELL_VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(self.SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  // An upgraded gateway's console replaces the old files.
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('console-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** The network first (a gateway upgrade shows at once), the kept copy when it cannot be reached. */
async function shell(request) {
  const url = new URL(request.url);
  const key = request.mode === 'navigate' ? '/' : url.pathname;
  try {
    const res = await fetch(request);
    if (res.ok) (await caches.open(CACHE)).put(key, res.clone()).catch(() => {});
    return res;
  } catch (err) {
    const kept = await caches.match(key, { cacheName: CACHE });
    if (kept) return kept;
    throw err;
  }
}

/** Floor plans are kept too (a guard offline still sees where the alarm is); no other API answer is. */
const PLAN = /^\/api\/sites\/[^/]+\/plans\/[^/]+$/;

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') && !PLAN.test(url.pathname)) return;
  event.respondWith(shell(event.request));
});
