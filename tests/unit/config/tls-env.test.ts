import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/env.js';

/** The problems loadConfig names for `env`. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

const FILES = { TLS_CERT_FILE: '/etc/gateway/cert.pem', TLS_KEY_FILE: '/etc/gateway/key.pem' };

describe('TLS settings', () => {
  it('has no TLS without the certificate and its key, and plain listeners on', () => {
    expect(loadConfig({}).tls).toBeUndefined();
  });

  it('listens with TLS on 8883, 8084 and 8443 by default once both files are named', () => {
    expect(loadConfig(FILES).tls).toStrictEqual({
      certFile: '/etc/gateway/cert.pem',
      keyFile: '/etc/gateway/key.pem',
      caFile: undefined,
      mqttsPort: 8883,
      wssPort: 8084,
      httpsPort: 8443,
      deviceCertAuth: 'off',
      plainListeners: true,
      reloadIntervalMs: 10_000,
    });
  });

  it('takes port 0 (a free one), a CA, client certificates and plain listeners off', () => {
    const tls = loadConfig({
      ...FILES,
      TLS_CA_FILE: '/etc/gateway/ca.pem',
      MQTTS_PORT: '0',
      MQTT_WSS_PORT: '0',
      HTTPS_PORT: '0',
      DEVICE_CERT_AUTH: 'required',
      PLAIN_LISTENERS: 'off',
      TLS_RELOAD_INTERVAL: '500ms',
    }).tls;
    expect(tls).toMatchObject({ caFile: '/etc/gateway/ca.pem', mqttsPort: 0, wssPort: 0, httpsPort: 0, deviceCertAuth: 'required', plainListeners: false, reloadIntervalMs: 500 });
  });

  it('wants both files or neither, naming the one missing', () => {
    expect(problems({ TLS_CERT_FILE: '/c.pem' })).toStrictEqual(['TLS_KEY_FILE: required with TLS_CERT_FILE (its private key)']);
    expect(problems({ TLS_KEY_FILE: '/k.pem' })).toStrictEqual(['TLS_CERT_FILE: required with TLS_KEY_FILE (the certificate of that key)']);
  });

  it('refuses plain listeners off without TLS, and client certificates without a CA', () => {
    expect(problems({ PLAIN_LISTENERS: 'off' })).toStrictEqual(['PLAIN_LISTENERS=off: needs TLS_CERT_FILE and TLS_KEY_FILE, or nothing would listen']);
    expect(problems({ ...FILES, DEVICE_CERT_AUTH: 'optional' })).toStrictEqual(['DEVICE_CERT_AUTH=optional: needs TLS_CA_FILE (the CA that signs device certificates)']);
    expect(problems({ ...FILES, TLS_CA_FILE: '/ca.pem', DEVICE_CERT_AUTH: 'required', MQTT_ALLOW_ANONYMOUS: 'true' })).toStrictEqual([
      'DEVICE_CERT_AUTH=required: contradicts MQTT_ALLOW_ANONYMOUS=true (anonymous clients may publish as any device)',
    ]);
    expect(problems({ DEVICE_CERT_AUTH: 'sometimes', PLAIN_LISTENERS: 'no' })).toStrictEqual([
      expect.stringMatching(/^DEVICE_CERT_AUTH="sometimes": /),
      expect.stringMatching(/^PLAIN_LISTENERS="no": /),
    ]);
  });
});
