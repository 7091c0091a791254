import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';

const BROKER = { BROKER_URL: 'mqtt://mosquitto:1883', BROKER_USERNAME: 'gateway', BROKER_PASSWORD: 'secret-secret' };
const WORKER = { ...BROKER, BROKER_SHARE_GROUP: 'ingest', PRIMARY_URL: 'http://primary:8080/', ADMIN_TOKEN: 'x'.repeat(16) };

describe('external-broker settings', () => {
  it('embeds the broker without BROKER_URL: a primary that stores', () => {
    const c = loadConfig({});
    expect(c.broker).toBeUndefined();
    expect(c.role).toBe('primary');
    expect(c.storeTelemetry).toBe(true);
  });

  it('makes a primary on an external broker with a fixed client id, a day of session and dynsec accounts', () => {
    const c = loadConfig(BROKER);
    expect(c.role).toBe('primary');
    expect(c.broker).toStrictEqual({
      url: 'mqtt://mosquitto:1883',
      username: 'gateway',
      password: 'secret-secret',
      clientId: `gateway-${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}`,
      shareGroup: undefined,
      sessionExpirySec: 86_400,
      receiveMaximum: 2000,
      accounts: 'dynsec',
      accountTimeoutMs: 5000,
    });
  });

  it('makes an ingest worker of BROKER_SHARE_GROUP, with a client id of its own and its primary', () => {
    const c = loadConfig(WORKER);
    expect(c.role).toBe('ingest');
    expect(c.broker?.shareGroup).toBe('ingest');
    expect(c.broker?.clientId).toMatch(/^gateway-.+-ingest$/);
    expect(c.primary).toStrictEqual({ url: 'http://primary:8080', refreshMs: 30_000 });
  });

  it('names the variable of each setting that does not fit the others', () => {
    expect(() => loadConfig({ BROKER_SHARE_GROUP: 'ingest' })).toThrow(/BROKER_SHARE_GROUP: needs BROKER_URL/);
    expect(() => loadConfig({ STORE_TELEMETRY: 'false' })).toThrow(/STORE_TELEMETRY=false: needs BROKER_URL/);
    expect(() => loadConfig({ ...WORKER, PRIMARY_URL: '' })).toThrow(/PRIMARY_URL: required on an ingest worker/);
    expect(() => loadConfig({ ...WORKER, ADMIN_TOKEN: '' })).toThrow(/ADMIN_TOKEN: required on an ingest worker/);
    expect(() => loadConfig({ BROKER_URL: 'mqtt://m:1883' })).toThrow(/BROKER_USERNAME: required with BROKER_ACCOUNTS=dynsec/);
    expect(loadConfig({ BROKER_URL: 'mqtt://m:1883', BROKER_ACCOUNTS: 'none' }).broker?.accounts).toBe('none');
  });

  it('refuses a bad URL, share group, client id or receive maximum, naming it', () => {
    expect(() => loadConfig({ ...BROKER, BROKER_URL: 'http://m:1883' })).toThrow(/BROKER_URL="http:\/\/m:1883"/);
    expect(() => loadConfig({ ...WORKER, BROKER_SHARE_GROUP: 'a/b' })).toThrow(/BROKER_SHARE_GROUP="a\/b"/);
    expect(() => loadConfig({ ...BROKER, BROKER_CLIENT_ID: 'has space' })).toThrow(/BROKER_CLIENT_ID/);
    expect(() => loadConfig({ ...BROKER, BROKER_RECEIVE_MAXIMUM: '70000' })).toThrow(/BROKER_RECEIVE_MAXIMUM/);
    expect(() => loadConfig({ ...BROKER, BROKER_SESSION_EXPIRY: 'forever' })).toThrow(/BROKER_SESSION_EXPIRY/);
  });
});
