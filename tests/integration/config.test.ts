import { describe, expect, it } from 'vitest';
import { runGatewayToExit } from '../helpers/process.js';

describe('starting with a bad configuration', () => {
  it('stops with exit code 1 and a message that names the variable', async () => {
    const { code, output } = await runGatewayToExit({ MQTT_PORT: 'eighteen-eighty-three', DATA_DIR: '/tmp/unused' });
    expect(code).toBe(1);
    expect(output).toContain('MQTT_PORT="eighteen-eighty-three"');
  });

  it('names a bad InfluxDB URL and a bad log level together', async () => {
    const { code, output } = await runGatewayToExit({ INFLUX_URL: 'ftp://x', LOG_LEVEL: 'chatty', DATA_DIR: '/tmp/unused' });
    expect(code).toBe(1);
    expect(output).toContain('INFLUX_URL="ftp://x"');
    expect(output).toContain('LOG_LEVEL="chatty"');
  });
});
