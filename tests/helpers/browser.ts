import { existsSync } from 'node:fs';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (package `chromium`, installed by scripts/ensure-servers.sh); no browser download. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Screenshots the tests make, kept as test artifacts (not committed). */
export const SCREENSHOTS = resolve('tests/artifacts/screenshots');

export const DESK = { width: 1440, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export async function launchBrowser(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium not found: install Debian\'s "chromium" package (npm test does) or set CHROMIUM_PATH');
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A browser window at desk or phone size; the page's script errors are gathered in `errors`. */
export async function openPage(browser: Browser, size: typeof DESK | typeof PHONE): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const phone = size === PHONE;
  const context = await browser.newContext({ viewport: size, deviceScaleFactor: phone ? 2 : 1, isMobile: phone, hasTouch: phone });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { context, page, errors };
}

/**
 * Where the screenshots docs/console.md shows are kept (committed). `npm run screenshots` refreshes them: it runs
 * the browser tests with UPDATE_DOCS_SCREENSHOTS=1, and each screenshot taken with `docs: true` is copied there.
 */
export const DOCS_SCREENSHOTS = resolve('docs/screenshots');
const DOCS_SCREENSHOT_MAX_BYTES = 150 * 1024;

/**
 * A full-page screenshot in tests/artifacts/screenshots/, also copied to docs/screenshots/ when asked for (above).
 * With `until` (a selector), only the top of the page down to the end of the last element it matches: the part of
 * a long page the docs show; with `height` as well, no more than that many pixels of it.
 */
export async function screenshot(page: Page, name: string, options: { docs?: boolean; until?: string; height?: number } = {}): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  if (options.until) {
    const boxes = (await Promise.all((await page.locator(options.until).all()).map((l) => l.boundingBox()))).filter((b) => b !== null);
    if (boxes.length === 0) throw new Error(`${name}: nothing matches ${options.until}`);
    // Bounding boxes are relative to the viewport: add the scroll to place them on the page.
    const scrollY = await page.evaluate(() => window.scrollY);
    const bottom = Math.max(...boxes.map((b) => b.y + b.height)) + scrollY + 12;
    const { width } = page.viewportSize() ?? { width: 1440 };
    // `height`: at most the top of that many pixels (a long list's first screen is what the docs show).
    await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width, height: Math.ceil(Math.min(bottom, options.height ?? Infinity)) } });
  } else {
    await page.screenshot({ path, fullPage: true });
  }
  if (options.docs && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    // They are committed: a page grown too tall or too busy for the docs should be noticed, not stored.
    const { size } = await stat(path);
    if (size > DOCS_SCREENSHOT_MAX_BYTES) throw new Error(`${name}.png is ${Math.round(size / 1024)} KB, more than the docs take (${DOCS_SCREENSHOT_MAX_BYTES / 1024} KB)`);
    await mkdir(DOCS_SCREENSHOTS, { recursive: true });
    await copyFile(path, join(DOCS_SCREENSHOTS, `${name}.png`));
  }
  return path;
}
