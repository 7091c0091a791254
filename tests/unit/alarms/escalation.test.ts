import { describe, expect, it, vi } from 'vitest';
import type { AlarmRaise } from '../../../src/alarms/model.js';
import { harnessPerTest } from './harness.js';

const T0 = Date.parse('2025-03-01T08:00:00.000Z');

const SMOKE: AlarmRaise = {
  site: 'maple-court',
  type: 'smoke',
  severity: 'major',
  source: 'fire-b3-01',
  rule: 'fire-smoke',
  message: 'Smoke 12% at fire-b3-01',
};
const TOPIC = (severity: string) => `sc/maple-court/alarms/${severity}/smoke/fire-b3-01`;

const h = harnessPerTest(T0);
const drain = () => h.drain();

describe('AlarmService escalation', () => {
  const ESCALATING: AlarmRaise = { ...SMOKE, escalate: { afterMs: 60_000, to: 'critical' } };

  it('escalates an alarm still active after the delay and moves its topic', async () => {
    const raised = h.alarms.raise(ESCALATING).alarm;
    await drain();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(h.alarms.get(raised.id)?.severity).toBe('major');
    await vi.advanceTimersByTimeAsync(1);
    const alarm = { ...raised, severity: 'critical' };
    expect(h.alarms.get(raised.id)).toStrictEqual(alarm);
    expect(await drain()).toStrictEqual([
      { topic: TOPIC('major'), retain: true, qos: 1, body: '' },
      { topic: TOPIC('critical'), retain: true, qos: 1, body: alarm },
    ]);
    expect(h.alarms.transitions(raised.id).map((t) => [t.transition, t.by])).toStrictEqual([
      ['raised', 'fire-smoke'],
      ['escalated', 'escalation'],
    ]);
    expect(h.events.at(-1)).toStrictEqual({ event: 'alarmChanged', data: { alarm, change: 'escalated', previousSeverity: 'major' } });
  });

  it('does not escalate an acknowledged alarm', async () => {
    const { id } = h.alarms.raise(ESCALATING).alarm;
    h.alarms.ack(id, 'Desk');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.alarms.get(id)?.severity).toBe('major');
  });

  it('does not escalate to a severity that is not higher', async () => {
    const { id } = h.alarms.raise({ ...SMOKE, escalate: { afterMs: 1000, to: 'minor' } }).alarm;
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.alarms.get(id)?.severity).toBe('major');
    expect(h.alarms.transitions(id)).toHaveLength(1);
  });

  it('does not lower an escalated severity when the rule raises the alarm again', async () => {
    const { id } = h.alarms.raise(ESCALATING).alarm;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.alarms.raise(ESCALATING).alarm).toMatchObject({ id, severity: 'critical', count: 2 });
  });

  it('escalates after a restart with the time that was left', async () => {
    const { id } = h.alarms.raise(ESCALATING).alarm;
    await vi.advanceTimersByTimeAsync(20_000);
    await h.alarms.stop();
    h.restart();
    h.alarms.start();
    await vi.advanceTimersByTimeAsync(39_999);
    expect(h.alarms.get(id)?.severity).toBe('major');
    await vi.advanceTimersByTimeAsync(1);
    expect(h.alarms.get(id)?.severity).toBe('critical');
  });

  it('escalates at once at start when the escalation fell due while stopped', async () => {
    const { id } = h.alarms.raise(ESCALATING).alarm;
    await h.alarms.stop();
    vi.setSystemTime(T0 + 3_600_000);
    h.restart();
    h.alarms.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.alarms.get(id)?.severity).toBe('critical');
  });
});
