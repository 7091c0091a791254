import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';
import { EnvSchema, loadConfig } from '../../src/config/env.js';

/** The systemd install of docs/deployment.md: the unit (checked by systemd-analyze where it exists), its env file, journald. */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('deploy/systemd/smart-community-gateway.service', () => {
  const UNIT = 'deploy/systemd/smart-community-gateway.service';
  /** Section → key → values, in file order (a key may repeat, e.g. Environment=). */
  function parseUnit(text: string): Record<string, Record<string, string[]>> {
    const out: Record<string, Record<string, string[]>> = {};
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(\w+)\]$/.exec(line);
      if (header) {
        section = header[1];
        out[section] = {};
        continue;
      }
      const eq = line.indexOf('=');
      (out[section][line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
    }
    return out;
  }
  const unit = parseUnit(read(UNIT));
  const service = unit.Service;
  const one = (key: string) => service[key]?.join(' ');

  it('runs node dist/main.js as the gateway user from the install folder', () => {
    expect(one('Type')).toBe('simple');
    expect(one('User')).toBe('gateway');
    expect(one('WorkingDirectory')).toBe('/opt/smart-community-gateway');
    expect(one('ExecStart')).toBe('/usr/bin/node dist/main.js');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(one('ExecStart')).toBe(`/usr/bin/${pkg.scripts.start}`);
    expect(unit.Install.WantedBy).toStrictEqual(['multi-user.target']);
  });

  it('restarts the gateway a second after any death, and gives up on a crash loop where systemctl shows it', () => {
    // `always`, not `on-failure`: a clean exit 0 nobody asked for (a stray SIGTERM) is a death as well.
    expect(one('Restart')).toBe('always');
    expect(one('RestartSec')).toBe('1s');
    // Start-rate limiting applies to automatic restarts: 10 within 60 s leaves the unit failed.
    expect(unit.Unit.StartLimitIntervalSec).toStrictEqual(['60']);
    expect(unit.Unit.StartLimitBurst).toStrictEqual(['10']);
    // A loop of restarts, each after its delay, fits the burst in the interval: a crash loop is caught.
    expect(Number(unit.Unit.StartLimitBurst[0]) * parseDuration(one('RestartSec')!)!).toBeLessThan(Number(unit.Unit.StartLimitIntervalSec[0]) * 1000);
    expect(service.StartLimitIntervalSec).toBeUndefined();
  });

  it('stops with SIGTERM and 30 s to flush, and logs to the journal', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('TimeoutStopSec')).toBe('30');
    expect(one('StandardOutput')).toBe('journal');
  });

  it('keeps its state in the StateDirectory, the only place it may write', () => {
    expect(one('StateDirectory')).toBe('smart-community-gateway');
    expect(service.Environment).toContain('DATA_DIR=/var/lib/smart-community-gateway');
    expect(one('ReadWritePaths')).toBe('/var/lib/smart-community-gateway');
    expect(one('EnvironmentFile')).toBe('-/etc/smart-community-gateway/env');
    for (const [key, value] of [
      ['NoNewPrivileges', 'true'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'true'],
      ['PrivateTmp', 'true'],
      ['LimitNOFILE', '65536'],
    ]) {
      expect(one(key), key).toBe(value);
    }
    // V8's JIT writes executable memory.
    expect(service.MemoryDenyWriteExecute).toBeUndefined();
  });

  it('passes systemd-analyze verify without a warning', async () => {
    let analyze = '';
    for (const candidate of ['/usr/bin/systemd-analyze', '/bin/systemd-analyze']) if (existsSync(candidate)) analyze = candidate;
    if (!analyze) return; // not on this machine: the keys above are what is checked
    const dir = await mkdtemp(join(tmpdir(), 'unit-'));
    try {
      // verify checks that ExecStart's program exists; point it at this machine's node if it is elsewhere.
      const text = existsSync('/usr/bin/node') ? read(UNIT) : read(UNIT).replace('/usr/bin/node', process.execPath);
      const file = join(dir, 'smart-community-gateway.service');
      await writeFile(file, text);
      const result = await run(analyze, ['verify', file], { timeout: 30_000 }).catch((err: { stderr?: string; code?: number }) => err);
      expect(result.stderr ?? '').toBe('');
      expect((result as { code?: number }).code ?? 0).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has an env.example of real settings the gateway accepts', () => {
    const text = read('deploy/systemd/env.example');
    const names = [...text.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(Object.keys(EnvSchema.shape), name).toContain(name);
    const set = Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(() => loadConfig(set)).not.toThrow();
  });

  it('has a journald snippet that bounds the journal on disk', () => {
    const journal = parseUnit(read('deploy/journald.conf.d/smart-community-gateway.conf'));
    expect(Object.keys(journal)).toStrictEqual(['Journal']);
    expect(journal.Journal.SystemMaxUse?.[0]).toMatch(/^\d+[KMGT]$/);
    expect(journal.Journal.Storage).toStrictEqual(['persistent']);
  });
});
