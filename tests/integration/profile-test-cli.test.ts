import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

/** Runs `npm run profile:test -- args` as a user would; resolves with its exit code, its JSON and its errors. */
function profileTest(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/profile-test.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The lift of docs/integrators.md's worked example. */
const ACME_LIFT = `
- id: acme-lift-ld200
  kind: lift
  source: mqtt
  topics: ["acme/{device}/status", "acme/{device}/alarm"]
  ts: { path: "$.time", format: epoch_s }
  telemetry:
    floor:    { path: "$.data.curFloor" }
    moving:   { path: "$.data.run", map: { "1": true, "0": false } }
    loadPct:  { path: "$.data.load", scale: 0.1 }
    direction: { path: "$.data.dir", map: { "U": up, "D": down, "S": idle } }
  events:
    - { type: passenger_trapped, path: "$.alarm.code", equals: 21, edge: true, details: { floor: "$.data.curFloor" } }
    - { type: released, path: "$.alarm.code", equals: 0, edge: true }
`;

const PUMP = `
- id: pump-demo
  kind: water
  source: modbus
  byteOrder: CDAB
  telemetry:
    pressureMpa: { table: holding, address: 0, type: uint16, scale: 0.001 }
    flowM3h:     { table: input, address: 2, type: float32 }
    pumpRunning: { table: coil, address: 0 }
  events:
    - { type: dry_run, table: holding, address: 5, bit: 3, equals: true }
`;

interface Sample {
  topic?: string;
  registers?: unknown;
  expected: { telemetry: Record<string, unknown> | null; events: Array<{ type: string }> };
}

describe('npm run profile:test', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'profile-test-'));
    await writeFile(file('acme.yaml'), ACME_LIFT);
    await writeFile(file('both.yaml'), ACME_LIFT + PUMP);
    await writeFile(file('pump.yaml'), PUMP);
  });

  describe('maps every shipped profile\'s sample as its fixture expects', async () => {
    const names = (await readdir('tests/fixtures/profiles')).filter((f) => f.endsWith('.sample.json')).map((f) => f.replace('.sample.json', ''));
    it.each(names)('%s', async (id) => {
      const sample = JSON.parse(await readFile(`tests/fixtures/profiles/${id}.sample.json`, 'utf8')) as Sample;
      const { code, stdout, stderr } = await profileTest([`profiles/${id}.yaml`, `tests/fixtures/profiles/${id}.sample.json`]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const out = JSON.parse(stdout);
      expect(out).toMatchObject({ profile: id, events: sample.expected.events });
      if (sample.expected.telemetry === null) expect(out.telemetry).toBeNull();
      // A register's float32 is stored as its shortest decimal (236.9), the fixtures write its exact value: the
      // same float32, so they agree to its precision (24 bits, 6e-8 relative).
      else for (const [k, v] of Object.entries(sample.expected.telemetry)) expect(Math.abs(out.telemetry[k] - (v as number)), k).toBeLessThanOrEqual(1e-7 * Math.abs(v as number));
      expect(out.unmapped).toEqual(expect.any(Array));
    });
  });

  it('names the vendor keys no mapping reads, and the device the topic names', async () => {
    const { code, stdout } = await profileTest(['profiles/zigbee2mqtt-aqara-sjcgq11lm.yaml', 'tests/fixtures/profiles/zigbee2mqtt-aqara-sjcgq11lm.sample.json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ device: 'leak-sensor-1', ts: 'receive time', telemetry: { waterLeak: false } });
    expect(out.unmapped).toStrictEqual(expect.arrayContaining(['$.battery', '$.temperature', '$.linkquality']));
    expect(out.unmapped).not.toContain('$.water_leak');
  });

  it('takes a bare payload, reads the vendor time, and fires an edge event as on a first message', async () => {
    await writeFile(file('trapped.json'), JSON.stringify({ time: 1714564800, data: { curFloor: 3, run: 0, load: 100, dir: 'S' }, alarm: { code: 21 }, fw: '1.2' }));
    const { code, stdout } = await profileTest([file('acme.yaml'), file('trapped.json')]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toStrictEqual({
      profile: 'acme-lift-ld200',
      kind: 'lift',
      source: 'mqtt',
      ts: '2024-05-01T12:00:00.000Z',
      telemetry: { floor: 3, moving: false, loadPct: 10, direction: 'idle' },
      events: [{ type: 'passenger_trapped', floor: 3 }],
      unmapped: ['$.fw'],
    });
  });

  it('prints the refusal as the gateway writes it, and exits 1', async () => {
    await writeFile(file('bad-dir.json'), JSON.stringify({ topic: 'acme/lift-7/status', payload: { data: { curFloor: 4, dir: 'X' } } }));
    const refused = await profileTest([file('acme.yaml'), file('bad-dir.json')]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ device: 'lift-7', refused: 'profile acme-lift-ld200: direction: value "X" not in map' });

    await writeFile(file('other-topic.json'), JSON.stringify({ topic: 'acme/lift-7/cmd', payload: { data: { curFloor: 4 } } }));
    const topic = await profileTest([file('acme.yaml'), file('other-topic.json')]);
    expect(topic.code).toBe(1);
    expect(JSON.parse(topic.stdout).refused).toMatch(/^topic acme\/lift-7\/cmd is none of the profile's topics/);
  });

  it('refuses a broken profile file naming file, profile and field, and exits 2', async () => {
    await writeFile(file('broken.yaml'), '- id: broken-one\n  kind: lift\n  source: mqtt\n  topics: ["b/{device}"]\n  telemetry:\n    floor: { path: "$.f", scale: "x" }\n    speed: { path: "f" }\n');
    const { code, stdout, stderr } = await profileTest([file('broken.yaml'), file('trapped.json')]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${file('broken.yaml')}: profile "broken-one": telemetry.floor.scale: expected a number`);
    expect(stderr).toContain(`${file('broken.yaml')}: profile "broken-one": telemetry.speed.path: "f": a path starts with $`);
  });

  it('asks which profile of a file to try, and takes --profile', async () => {
    const ask = await profileTest([file('both.yaml'), file('trapped.json')]);
    expect(ask).toMatchObject({ code: 2, stderr: expect.stringMatching(/holds 2 profiles \(acme-lift-ld200, pump-demo\): name one with --profile/) });
    const picked = await profileTest([file('both.yaml'), file('trapped.json'), '--profile', 'acme-lift-ld200']);
    expect(picked.code).toBe(0);
  });

  it('decodes a Modbus register dump in the profile\'s byte order, bits included', async () => {
    // 12.5 as a float32 is 0x4148 0x0000; CDAB sends the low word first.
    await writeFile(file('dump.json'), JSON.stringify({ registers: { holding: { 0: 350, 5: 0b1000, 9: 7 }, input: { 2: 0, 3: 0x4148 }, coil: { 0: true } } }));
    const { code, stdout } = await profileTest([file('pump.yaml'), file('dump.json')]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      telemetry: { pressureMpa: 0.35, flowM3h: 12.5, pumpRunning: true },
      events: [{ type: 'dry_run' }],
      notInSample: [],
      unmapped: ['holding 9'],
    });
  });

  it('refuses a register that decodes to no number, naming the field and its registers', async () => {
    await writeFile(file('nan.json'), JSON.stringify({ registers: { holding: { 0: 1, 5: 0 }, input: { 2: 0, 3: 0x7fc0 }, coil: { 0: false } } }));
    const { code, stdout } = await profileTest([file('pump.yaml'), file('nan.json')]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).refused).toMatch(/^telemetry\.flowM3h \(input 2\.\.3\): float32 value is NaN/);
  });
});
