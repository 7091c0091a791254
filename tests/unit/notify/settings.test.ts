import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/env.js';

describe('the notification settings', () => {
  it('default to ./sites, no e-mail, gateway@{hostname}, the listener as console link, 5s doubling for 10m', () => {
    const c = loadConfig({});
    expect(c.sitesDir).toBe('./sites');
    expect(c.notify).toStrictEqual({ smtpUrl: undefined, consoleUrl: undefined, from: `gateway@${hostname()}`, retryDelayMs: 5000, retryForMs: 600_000, timeoutMs: 10_000 });
  });

  it('take an SMTP URL and a console address without its trailing slash', () => {
    const c = loadConfig({ SMTP_URL: 'smtps://gw:pw@mail.example.com:465', CONSOLE_URL: 'https://desk.example.com/', NOTIFY_FROM: 'desk@example.com' });
    expect(c.notify).toMatchObject({ smtpUrl: 'smtps://gw:pw@mail.example.com:465', consoleUrl: 'https://desk.example.com', from: 'desk@example.com' });
  });

  it('refuse a bad SMTP URL without repeating it (it holds a password)', () => {
    try {
      loadConfig({ SMTP_URL: 'http://gw:secret-pw@mail.example.com' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toStrictEqual(['SMTP_URL="[redacted]": an smtp:// or smtps:// URL']);
    }
  });
});
