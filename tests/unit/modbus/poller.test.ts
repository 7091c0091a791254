import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { ModbusPoller, type PolledDevice } from '../../../src/modbus/poller.js';

const serial = (id: string, unitId: number, link: Partial<{ baudRate: number; parity: 'none' | 'even' }> = {}): PolledDevice => ({
  id,
  unitId,
  link: { serial: '/dev/ttyUSB0', ...link },
  fields: [{ name: 'v', table: 'holding', address: 0 }],
  pollMs: 1000,
  timeoutMs: 100,
});

describe('modbus poller registration', () => {
  it('shares one link among the units of a serial line', () => {
    const poller = new ModbusPoller({ onValues: () => undefined });
    poller.add(serial('a', 1));
    poller.add(serial('b', 2, { baudRate: 9600, parity: 'none' }));
    expect(poller.linkStats()).toStrictEqual([{ key: 'serial:/dev/ttyUSB0', state: 'stopped', connects: 0, drops: 0, reopens: 0, errorsInRow: 0, queued: 0, lastError: undefined }]);
  });

  it('refuses a second registration of a serial line with other settings', () => {
    const poller = new ModbusPoller({ onValues: () => undefined });
    poller.add(serial('a', 1));
    expect(() => poller.add(serial('b', 2, { baudRate: 19200 }))).toThrow(ValidationError);
    expect(() => poller.add(serial('b', 2, { baudRate: 19200 }))).toThrow('modbus b: link: serial line /dev/ttyUSB0 is already open with other settings');
  });

  it('refuses a device id twice', () => {
    const poller = new ModbusPoller({ onValues: () => undefined });
    poller.add(serial('a', 1));
    expect(() => poller.add(serial('a', 2))).toThrow('modbus a: is already polled');
  });

  it('starts with no counters but zeros, and knows no other device', () => {
    const poller = new ModbusPoller({ onValues: () => undefined });
    poller.add(serial('a', 1));
    expect(poller.stats('a')).toStrictEqual({ polls: 0, failures: 0, skipped: 0, overruns: 0, missesInRow: 0, online: undefined, lastError: undefined });
    expect(poller.stats('nope')).toBeUndefined();
  });
});
