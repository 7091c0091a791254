import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvSchema, loadConfig } from '../../../src/config/env.js';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c.mqtt.port).toBe(1883);
    expect(c.mqtt.wsPort).toBe(8083);
    expect(c.http.port).toBe(8080);
    expect(c.influx.url).toBe('http://127.0.0.1:8086');
    expect(c.influx.db).toBe('smart_community');
    expect(c.dataDir).toBe('./data');
    expect(c.rulesDir).toBe('./rules');
    expect(c.baseTopic).toBe('sc');
    expect(c.logLevel).toBe('info');
    expect(c.mqtt.allowAnonymous).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('never repeats a secret in its error, but names the variable and the rule it broke', () => {
    try {
      loadConfig({ ADMIN_TOKEN: 'short-tok' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe('invalid configuration: ADMIN_TOKEN="[redacted]": must be at least 16 characters');
    }
  });

  it('names every bad variable and its value', () => {
    try {
      loadConfig({ MQTT_PORT: '70000', INFLUX_URL: 'not a url', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain('MQTT_PORT="70000"');
      expect(message).toContain('INFLUX_URL="not a url"');
      expect(message).toContain('LOG_LEVEL="loud"');
    }
  });

  it('refuses an unknown time zone and a bad duration', () => {
    expect(() => loadConfig({ TZ: 'Mars/Olympus' })).toThrow(/TZ="Mars\/Olympus"/);
    expect(() => loadConfig({ COMMAND_TIMEOUT: '10 seconds' })).toThrow(/COMMAND_TIMEOUT/);
  });

  it('takes the monthly report schedule as a cron expression, 00:05 on the 1st by default', () => {
    expect(loadConfig({}).reportsCron).toBe('5 0 1 * *');
    expect(loadConfig({ REPORTS_CRON: '0 6 1 * *' }).reportsCron).toBe('0 6 1 * *');
    expect(() => loadConfig({ REPORTS_CRON: 'monthly' })).toThrow('REPORTS_CRON="monthly": not a cron expression: expected 5 or 6 fields but got 1');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ HTTP_PORT: '' }).http.port).toBe(8080);
  });

  it('names a bad time zone along with the other bad variables', () => {
    try {
      loadConfig({ TZ: 'Mars/Olympus', MQTT_PORT: 'x' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toStrictEqual([expect.stringMatching(/^MQTT_PORT="x": /), 'TZ="Mars/Olympus": not a known time zone']);
    }
  });
});

describe('each environment variable', () => {
  it('is written once in src/config, with its schema and its place in the Config', () => {
    const dir = new URL('../../../src/config/', import.meta.url);
    const text = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(new URL(file, dir), 'utf8'))
      .join('\n');
    const names = Object.keys(EnvSchema.shape);
    const times = (name: string) => text.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
    expect(Object.fromEntries(names.map((name) => [name, times(name)]))).toStrictEqual(Object.fromEntries(names.map((name) => [name, 1])));
  });
});

describe("the README's configuration table", () => {
  /** The names in the first column of each row; `A_B_C`, `_D` is short for `A_B_C`, `A_B_D`. */
  function documented(): string[] {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    return section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => {
        const names = [...line.split('|')[1].matchAll(/`([A-Z_][A-Z0-9_]*)`/g)].map((m) => m[1]);
        const prefix = names[0].slice(0, names[0].lastIndexOf('_'));
        return names.map((n) => (n.startsWith('_') ? prefix + n : n));
      });
  }

  it('lists every setting the gateway reads, and nothing else', () => {
    expect(documented().sort()).toStrictEqual(Object.keys(EnvSchema.shape).sort());
  });
});

describe('durations', () => {
  it('parses the contract forms and nothing else', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
