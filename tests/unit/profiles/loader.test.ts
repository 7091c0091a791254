import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseProfileFile, ProfileLoader, profileView, readProfileFiles, type LoadedProfile } from '../../../src/profiles/loader.js';
import { recordingLogger } from '../rules/harness.js';
import { ACME_LIFT_YAML, PUMPSET_YAML } from './fixtures.js';

let dir: string;
let loaders: ProfileLoader[];

function loader(folder = dir) {
  const { log, records } = recordingLogger();
  const changes: string[][] = [];
  const l = new ProfileLoader({ dir: folder, log, debounceMs: 20, onChange: (ps) => void changes.push(ps.map((p) => p.profile.id)) });
  loaders.push(l);
  return { l, records, changes };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'profiles-'));
  await writeFile(join(dir, 'acme.yaml'), ACME_LIFT_YAML);
  await writeFile(join(dir, 'pumps.yml'), PUMPSET_YAML);
  await writeFile(join(dir, 'tank.json'), JSON.stringify([{ id: 'tank', kind: 'water', source: 'modbus', telemetry: { levelPct: { table: 'input', address: 7 } } }]));
  await writeFile(join(dir, 'README.md'), '# not a profile');
  await writeFile(join(dir, '.acme.yaml.swp'), 'garbage: [');
  loaders = [];
});
afterEach(async () => {
  for (const l of loaders) l.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('profile loader', () => {
  it('reads every .yaml, .yml and .json file and nothing else', async () => {
    const { l, changes } = loader();
    expect(await l.start()).toStrictEqual({ ok: true, profiles: 3 });
    expect(l.list().map((p) => p.profile.id)).toStrictEqual(['acme-lift-ld200', 'pumpset-modbus-demo', 'tank']);
    expect(l.get('tank')?.source).toBe('modbus');
    expect(l.get('nope')).toBeUndefined();
    expect(changes).toStrictEqual([['acme-lift-ld200', 'pumpset-modbus-demo', 'tank']]);
    expect(profileView(l.list()[2])).toStrictEqual({
      id: 'tank',
      kind: 'water',
      source: 'modbus',
      file: l.list()[2].file,
      description: undefined,
      definition: { id: 'tank', kind: 'water', source: 'modbus', telemetry: { levelPct: { table: 'input', address: 7 } } },
    });
  });

  it('treats a missing folder as no profiles', async () => {
    const { l, records } = loader(join(dir, 'absent'));
    expect(await l.start()).toStrictEqual({ ok: true, profiles: 0 });
    expect(l.list()).toStrictEqual([]);
    expect(records.some((r) => r.msg === 'profiles folder missing; no profiles')).toBe(true);
  });

  it('refuses a bad file as a whole on reload, lists every problem, and keeps the profiles in force', async () => {
    const { l, records, changes } = loader();
    await l.start();
    const before = l.list();
    // One valid and one broken profile in the same file: neither is taken.
    await writeFile(
      join(dir, 'more.yaml'),
      `
- id: door-a
  kind: access
  source: mqtt
  topics: ["door/{device}"]
  telemetry: { doorOpen: { path: "$.open" } }
- id: lift-bad
  kind: lift
  source: mqtt
  topics: ["bad/+/x"]
  telemetry: { loadPct: { path: "$.l", scale: "ten" } }
`,
    );
    const file = l.list()[0].file.replace('acme.yaml', 'more.yaml');
    expect(await l.reload()).toStrictEqual({ ok: false, errors: [`${file}: profile "lift-bad": telemetry.loadPct.scale: expected a number`] });
    expect(l.list()).toBe(before);
    expect(l.get('door-a')).toBeUndefined();
    expect(changes).toHaveLength(1);
    expect(records.find((r) => r.msg === 'profile files refused; the profiles in force stay')).toMatchObject({ level: 40 });
  });

  it('refuses an id used in two files, naming both', async () => {
    await writeFile(join(dir, 'zz.yaml'), ACME_LIFT_YAML);
    const read = await readProfileFiles(dir);
    const acme = read.profiles[0].file;
    expect(read.errors).toStrictEqual([`${acme.replace('acme.yaml', 'zz.yaml')}: profile "acme-lift-ld200": id: already used in ${acme}`]);
  });

  it('swaps in a valid new set at once and tells the listener', async () => {
    const { l, changes } = loader();
    await l.start();
    await rm(join(dir, 'tank.json'));
    expect(await l.reload()).toStrictEqual({ ok: true, profiles: 2 });
    expect(l.get('tank')).toBeUndefined();
    expect(changes).toStrictEqual([['acme-lift-ld200', 'pumpset-modbus-demo', 'tank'], ['acme-lift-ld200', 'pumpset-modbus-demo']]);
  });

  it('puts the valid files in force at start and reports the refused ones', async () => {
    await writeFile(join(dir, 'broken.yaml'), 'key: [unclosed');
    await writeFile(join(dir, 'object.json'), '{"id": "x"}');
    const { l, records } = loader();
    const r = await l.start();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(2);
      expect(r.errors[0]).toMatch(/broken\.yaml: not valid YAML/);
      expect(r.errors[1]).toMatch(/object\.json: must hold a list of profiles$/);
    }
    expect(l.list()).toHaveLength(3);
    expect(records.find((x) => x.msg === 'profile files refused at start; the valid ones are in force')).toMatchObject({ level: 50 });
  });

  it('isolates a failing change listener: the set stays in force', async () => {
    const { log, records } = recordingLogger();
    const l = new ProfileLoader({ dir, log, onChange: () => { throw new Error('listener broke'); } });
    loaders.push(l);
    expect(await l.start()).toStrictEqual({ ok: true, profiles: 3 });
    expect(l.list()).toHaveLength(3);
    expect(records.find((r) => r.msg === 'profile change listener failed')?.err?.message).toBe('listener broke');
  });

  it('reloads by itself a moment after a file changes', async () => {
    const { l, changes } = loader();
    await l.start();
    await writeFile(join(dir, 'tank.json'), '[]');
    await vi.waitFor(() => expect(changes.at(-1)).toStrictEqual(['acme-lift-ld200', 'pumpset-modbus-demo']), { timeout: 3000 });
  });

  it('runs reloads one at a time, in order', async () => {
    const { l } = loader();
    await l.start();
    const results = await Promise.all([l.reload(), l.reload(), l.reload()]);
    expect(results).toStrictEqual([{ ok: true, profiles: 3 }, { ok: true, profiles: 3 }, { ok: true, profiles: 3 }]);
  });
});

describe('profile files', () => {
  const parse = (text: string, file = 'profiles/x.yaml') => parseProfileFile(file, text);

  it('reads an empty file as no profiles', () => {
    expect(parse('')).toStrictEqual({ profiles: [], errors: [] });
    expect(parse('  ', 'profiles/x.json')).toStrictEqual({ profiles: [], errors: [] });
  });

  it('refuses what is not a list, and invalid JSON', () => {
    expect(parse('id: x')).toStrictEqual({ profiles: [], errors: ['profiles/x.yaml: must hold a list of profiles'] });
    expect(parse('[', 'profiles/x.json').errors[0]).toMatch(/^profiles\/x\.json: not valid JSON: /);
  });

  it('refuses a YAML alias bomb instead of expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(parse(bomb).errors[0]).toMatch(/^profiles\/x\.yaml: not valid YAML: /);
  });

  it('keeps a vendor key named __proto__ as data, never as a prototype', () => {
    const r = parse(`
- id: odd
  kind: lift
  source: mqtt
  topics: ["odd/{device}"]
  telemetry:
    direction: { path: "$.d", map: { __proto__: up, x: down } }
`);
    expect(r.errors).toStrictEqual([]);
    const [loaded] = r.profiles as LoadedProfile[];
    expect(loaded.profile.source === 'mqtt' && loaded.profile.telemetry[0].map?.get('__proto__')).toBe('up');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
