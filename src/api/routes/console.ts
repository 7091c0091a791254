import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** The console's own files: `console/` at the top of the project (three levels up from src/ and dist/ alike). */
const CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

/** The front-end libraries, served from node_modules as npm installed them: no bundler, no build step. */
const VENDOR: Record<string, [pkg: string, file: string]> = {
  'htm-preact.js': ['htm', 'preact/standalone.module.js'],
  'uplot.js': ['uplot', 'dist/uPlot.esm.js'],
  'uplot.css': ['uplot', 'dist/uPlot.min.css'],
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

/**
 * Scripts only from the gateway itself; styles may be set inline (uPlot and the charts position elements
 * with style attributes); images also from blob: (a floor plan, fetched with the token, is shown through an
 * object URL); no frames, no form posts elsewhere.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** Reads every file once at start: a handful of small files, and a missing one fails the start, not a page. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
      else if (TYPES[extname(entry.name)]) assets.set(`/console/${prefix}${entry.name}`, { body: readFileSync(path), type: TYPES[extname(entry.name)] });
    }
  };
  walk(CONSOLE_DIR, '');
  const require = createRequire(import.meta.url);
  for (const [name, [pkg, file]] of Object.entries(VENDOR)) {
    // The package's folder from its main entry: neither package lists these browser files in its exports.
    const main = require.resolve(pkg);
    const dir = main.slice(0, main.lastIndexOf(`${sep}node_modules${sep}${pkg}${sep}`) + `${sep}node_modules${sep}${pkg}${sep}`.length);
    assets.set(`/vendor/${name}`, { body: readFileSync(join(dir, file)), type: TYPES[extname(name)] });
  }
  return assets;
}

/**
 * The service worker with the list of the app's files it keeps and a version from their content: a console changed
 * by an upgrade is a new worker, which drops the old files (console/sw.js).
 */
function serviceWorker(assets: Map<string, Asset>): Buffer {
  const shell = ['/', ...[...assets.keys()].filter((path) => path !== '/console/sw.js' && path !== '/console/index.html')].sort();
  const hash = createHash('sha256');
  for (const path of shell) hash.update(path).update(assets.get(path === '/' ? '/console/index.html' : path)?.body ?? '');
  const worker = assets.get('/console/sw.js');
  if (!worker) throw new Error(`console/sw.js is missing from ${CONSOLE_DIR}`);
  const head = `self.SHELL = ${JSON.stringify(shell)};\nself.SHELL_VERSION = ${JSON.stringify(hash.digest('hex').slice(0, 16))};\n`;
  return Buffer.concat([Buffer.from(head), worker.body]);
}

/** The operator console (`/`): static files; everything it shows comes from the API with the operator's token. */
export function consoleRoutes(app: FastifyInstance): void {
  const assets = loadAssets();
  const index = assets.get('/console/index.html');
  if (!index) throw new Error(`console/index.html is missing from ${CONSOLE_DIR}`);
  const hidden = { config: { public: true }, schema: { hide: true } } as const;
  const worker = serviceWorker(assets);

  app.get('/', hidden, async (_request, reply) =>
    reply.headers({ ...SECURITY_HEADERS, 'content-type': index.type, 'cache-control': 'no-cache' }).send(index.body),
  );
  // At the root, so its scope covers `/` (a worker controls only the pages under its own path).
  app.get('/sw.js', hidden, async (_request, reply) =>
    reply.headers({ ...SECURITY_HEADERS, 'content-type': TYPES['.js'], 'cache-control': 'no-cache', 'service-worker-allowed': '/' }).send(worker),
  );
  for (const prefix of ['/console/*', '/vendor/*'] as const) {
    app.get(prefix, hidden, async (request, reply) => {
      const asset = assets.get(request.url.split('?')[0]);
      if (!asset) return reply.status(404).send({ error: 'not_found', message: `${request.url} is not part of the console` });
      // no-cache: the browser revalidates, so an upgraded gateway never runs yesterday's console.
      return reply.headers({ ...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache' }).send(asset.body);
    });
  }
}
