import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** The console as an installable web app: its manifest, icons and service worker, as a browser fetches them. */
describe('the console installs as a web app', () => {
  let gw: TestGateway;
  let base: string;

  beforeAll(async () => {
    gw = await startGateway();
    base = `http://127.0.0.1:${gw.httpPort}`;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves the manifest as application/manifest+json with both languages in its name and icons of 192 and 512 px', async () => {
    const page = await (await fetch(`${base}/`)).text();
    expect(page).toContain('<link rel="manifest" href="/console/manifest.webmanifest" />');
    const res = await fetch(`${base}/console/manifest.webmanifest`);
    expect(res.headers.get('content-type')).toBe('application/manifest+json');
    const manifest = await res.json();
    expect(manifest).toMatchObject({ name: '智慧社区运维台 · Community Desk', start_url: '/#/alarms', scope: '/', display: 'standalone' });
    const sizes = [];
    for (const icon of manifest.icons) {
      const png = await fetch(`${base}${icon.src}`);
      expect(png.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await png.arrayBuffer());
      // The PNG's IHDR: width and height as the manifest says.
      expect([icon.src, `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`]).toStrictEqual([icon.src, icon.sizes]);
      sizes.push([icon.purpose, icon.sizes]);
    }
    expect(sizes).toStrictEqual([['any', '192x192'], ['any', '512x512'], ['maskable', '192x192'], ['maskable', '512x512']]);
  });

  it('serves the service worker at the root with the list of the files it keeps', async () => {
    const res = await fetch(`${base}/sw.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('service-worker-allowed')).toBe('/');
    const text = await res.text();
    const shell = JSON.parse(/^self\.SHELL = (.*);$/m.exec(text)![1]);
    expect(shell).toEqual(expect.arrayContaining(['/', '/console/app.js', '/console/manifest.webmanifest', '/vendor/htm-preact.js']));
    expect(shell).not.toContain('/console/sw.js');
    // Every file it keeps is there to keep.
    for (const path of shell) expect([path, (await fetch(`${base}${path}`)).status]).toStrictEqual([path, 200]);
    // Floor plans arrive as blob: URLs (fetched with the token): the page's policy allows them as images only.
    expect((await fetch(`${base}/`)).headers.get('content-security-policy')).toContain("img-src 'self' data: blob:");
  });
});
