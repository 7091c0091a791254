import { logLines } from '../helpers/log-lines.js';
import { describe, expect, it } from 'vitest';
import { Bus } from '../../src/bus.js';
import { Failures } from '../../src/failures.js';
import { Metrics } from '../../src/metrics.js';

const flushed = () => new Promise((r) => setImmediate(r));

describe('Failures', () => {
  it('counts every failure by stage and logs its stack at most once per interval per device', async () => {
    const { lines, log } = logLines();
    const metrics = new Metrics();
    let now = 0;
    const failures = new Failures(metrics, log, 60_000, () => now);
    for (let i = 0; i < 100; i++) failures.report('rules', new Error('boom'), { device: 'm-1' });
    failures.report('rules', new Error('boom'), { device: 'm-2' });
    now = 60_000;
    failures.report('rules', new Error('boom'), { device: 'm-1' });
    await flushed();
    expect(metrics.value('gateway_message_failures_total', { stage: 'rules' })).toBe(102);
    expect(lines.map((l) => [l.device, l.suppressed])).toStrictEqual([
      ['m-1', 0],
      ['m-2', 0],
      ['m-1', 99],
    ]);
    expect(lines[0].err.stack).toContain('Error: boom');
  });
});

describe('Bus with Failures', () => {
  it('counts a throwing listener under its owner name and still runs the others', async () => {
    const { log } = logLines();
    const metrics = new Metrics();
    const bus = new Bus(log, new Failures(metrics, log));
    const seen: string[] = [];
    bus.on('messageRejected', { name: 'rules' }, () => {
      throw new Error('condition broke');
    });
    bus.on('messageRejected', { name: 'upstream' }, async () => {
      throw new Error('queue broke');
    });
    bus.on('messageRejected', { name: 'events' }, (m) => void seen.push(m.topic));
    bus.emit('messageRejected', { topic: 't', reason: 'r', device: 'd-1' });
    await flushed();
    expect(seen).toStrictEqual(['t']);
    expect(metrics.value('gateway_message_failures_total', { stage: 'rules' })).toBe(1);
    expect(metrics.value('gateway_message_failures_total', { stage: 'upstream' })).toBe(1);
  });
});
