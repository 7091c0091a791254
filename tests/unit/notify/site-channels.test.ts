import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { SiteModel } from '../../../src/sites/model.js';
import { parseSite } from '../../../src/sites/parse.js';
import { parseListFile } from '../../../src/shared/watched-folder.js';

const log = createLogger('silent');
const SITE = {
  id: 'maple-court',
  name: { 'zh-CN': '枫林苑', en: 'Maple Court' },
  buildings: [{ id: 'b3', floors: [] }],
  channels: [
    { id: 'desk-hook', webhook: 'https://hooks.example.com/sc', secret: 'at-least-16-chars' },
    { id: 'duty-ding', dingtalk: 'https://oapi.dingtalk.com/robot/send?access_token=x', secret: 'SECx', mention: ['13800000000'] },
    { id: 'manager-mail', email: ['manager@example.com'] },
  ],
  notify: [
    { match: { severity: ['critical', 'major'] }, channels: ['desk-hook'] },
    { match: { severity: ['critical'] }, after: '2m', channels: ['duty-ding'] },
  ],
};

/** A site file read as the site model reads it; the notifier takes its id, language, channels and notify. */
const parseSiteNotify = (raw: unknown, file: string) => parseSite(raw, file, '.');
const problems = (raw: unknown) => {
  const r = parseSiteNotify(raw, 'sites/mc.yaml');
  return r.ok ? [] : r.errors;
};

describe('the notification part of a site file', () => {
  it('reads id, language, channels and notify, ignores the rest, and defaults the language to zh-CN', () => {
    const r = parseSiteNotify(SITE, 'sites/mc.yaml');
    const notification = r.ok && (({ id, language, channels, notify }) => ({ id, language, channels, notify }))(r.item.site);
    expect(notification).toStrictEqual({
      id: 'maple-court',
      language: 'zh-CN',
      channels: SITE.channels,
      notify: [
        { match: { severity: ['critical', 'major'] }, channels: ['desk-hook'] },
        { match: { severity: ['critical'] }, after: 120_000, channels: ['duty-ding'] },
      ],
    });
  });

  it('names the file, the site and the field of each problem', () => {
    expect(problems({ ...SITE, channels: [{ id: 'desk-hook', webhook: 'https://x.example/h', secret: 'short' }], notify: [] })).toStrictEqual([
      'sites/mc.yaml: site "maple-court": channels[0].secret: must be at least 16 characters',
    ]);
    expect(problems({ ...SITE, notify: [{ match: { severity: ['fatal'] }, channels: ['nowhere'] }] })).toStrictEqual([
      'sites/mc.yaml: site "maple-court": notify[0].match.severity[0]: must be one of critical, major, minor, warning',
    ]);
    expect(problems({ ...SITE, notify: [{ channels: ['nowhere'] }] })).toStrictEqual([
      'sites/mc.yaml: site "maple-court": notify[0].channels[0]: nowhere is not a channel of this site',
    ]);
    expect(problems({ ...SITE, notify: [{ after: 'soon', channels: ['desk-hook'] }] })[0]).toMatch(/notify\[0\]\.after: "soon" is not a duration/);
    expect(problems({ ...SITE, channels: [{ id: 'two', webhook: 'https://a.example', email: ['a@example.com'] }], notify: [] })[0]).toMatch(/channels\[0\]: needs exactly one of/);
    expect(problems({ ...SITE, channels: [{ id: 'm', email: ['a@example.com'], mention: ['13800000000'] }], notify: [] })[0]).toMatch(/channels\[0\]\.mention: only a WeCom or DingTalk/);
    expect(problems({ ...SITE, channels: [{ id: 'h', webhook: 'ftp://x.example' }], notify: [] })[0]).toMatch(/channels\[0\]\.webhook: must be an http/);
    expect(problems({ ...SITE, language: 'fr' })[0]).toMatch(/language: must be one of zh-CN, en/);
  });

  it('accepts the shipped example file', async () => {
    const text = await readFile(new URL('../../../sites/example.yaml.sample', import.meta.url), 'utf8');
    const r = parseListFile('example.yaml', text, { noun: 'site', oneItemPerFile: true, parseItem: (raw, file) => parseSiteNotify(raw, file) });
    expect(r.errors).toStrictEqual([]);
    expect(r.items[0].site.channels.map((c) => c.id)).toStrictEqual(['desk-hook', 'duty-wecom', 'duty-ding', 'manager-mail']);
  });
});

describe('the sites folder', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the settings in force when a reload finds a bad file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sites-'));
    await writeFile(join(dir, 'mc.yaml'), 'id: maple-court\nlanguage: en\nchannels: [{ id: h, webhook: "http://127.0.0.1:9/h" }]\nnotify: [{ channels: [h] }]\n');
    const sites = new SiteModel({ dir, log, debounceMs: 10_000 });
    expect(await sites.start()).toStrictEqual({ ok: true, count: 1 });
    await writeFile(join(dir, 'mc.yaml'), 'id: maple-court\nnotify: [{ channels: [gone] }]\n');
    const reload = await sites.reload();
    sites.stop();
    expect(reload.ok).toBe(false);
    expect(sites.get('maple-court')?.language).toBe('en');
    expect(sites.get('maple-court')?.channels.map((c) => c.id)).toStrictEqual(['h']);
  });
});
