import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIMULATED_KINDS } from '../../../devices/models/index.js';
import { expandSite, loadSite, scaleSite, SiteFileError } from '../../../devices/site.js';

const countBy = (items: Array<{ kind: string }>) => items.reduce<Record<string, number>>((m, d) => ({ ...m, [d.kind]: (m[d.kind] ?? 0) + 1 }), {});

describe('site descriptions', () => {
  it('describes a demo community of about 350 devices of every simulated kind', async () => {
    const devices = expandSite(await loadSite('devices/sites/demo.yaml'));
    expect(devices.length).toBeGreaterThanOrEqual(330);
    expect(devices.length).toBeLessThanOrEqual(370);
    expect(Object.keys(countBy(devices)).sort()).toStrictEqual([...SIMULATED_KINDS].sort());
    expect(new Set(devices.map((d) => d.id)).size).toBe(devices.length);
  });

  it('names devices after their kind and zone, with building and floor tags', async () => {
    const devices = expandSite(await loadSite('devices/sites/demo.yaml'));
    expect(devices.find((d) => d.id === 'fire-b2-f3-01')).toMatchObject({
      kind: 'fire',
      site: 'demo',
      zone: 'b2-f3',
      role: 'detector',
      tags: { role: 'detector', building: 'b2', floor: '3' },
    });
    expect(devices.find((d) => d.id === 'parking-carpark-fl01')).toMatchObject({ role: 'fire-lane', zone: 'carpark' });
    expect(devices.find((d) => d.id === 'parking-carpark-gate01')).toMatchObject({ role: 'lot', params: { capacity: 180 } });
  });

  it('grows a site to 5,000 devices by copying its buildings, keeping ids unique', async () => {
    const devices = scaleSite(await loadSite('devices/sites/demo.yaml'), 5000);
    expect(devices).toHaveLength(5000);
    expect(new Set(devices.map((d) => d.id)).size).toBe(5000);
    expect(devices.some((d) => d.zone === 'b1x2-f1')).toBe(true);
  });

  it('cuts a site to fewer devices and still keeps every simulated kind', async () => {
    const devices = scaleSite(await loadSite('devices/sites/demo.yaml'), 60);
    expect(devices).toHaveLength(60);
    expect(Object.keys(countBy(devices)).sort()).toStrictEqual([...SIMULATED_KINDS].sort());
  });

  it('refuses a site file naming the file and the bad field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'site-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'site: demo\ntimeZone: Mars/Olympus\nlat: 31\nlon: 121\n');
    await expect(loadSite(file)).rejects.toThrow(new SiteFileError(`${file}: timeZone: not a time zone name (e.g. Asia/Shanghai)`));
    await writeFile(file, 'site: demo\ntimeZone: UTC\nlat: 31\nlon: 121\nbuildings:\n  - { id: b1, floors: 0, perFloor: {} }\n');
    await expect(loadSite(file)).rejects.toThrow(/bad\.yaml: buildings\.0\.floors: must be at least 1/);
  });
});
