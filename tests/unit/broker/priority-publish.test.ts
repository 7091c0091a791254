import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { SerialPublisher } from '../../../src/shared/serial-publisher.js';

/** A broker whose publishes complete only when the test lets them, one at a time, in the order they came. */
function slowBroker() {
  const sent: string[] = [];
  const waiting: Array<() => void> = [];
  const publish = (topic: string, payload: string | Buffer) =>
    new Promise<void>((resolve) => {
      sent.push(`${topic} ${payload.toString() || '(delete)'}`);
      waiting.push(resolve);
    });
  const release = async () => {
    await new Promise((r) => setImmediate(r));
    waiting.shift()?.();
  };
  return { sent, publish, release };
}

describe('SerialPublisher: urgent publishes (the priority lane)', () => {
  it('hands a flood of 100 alarms to the broker at once, not each after the last one reached the subscribers', async () => {
    const broker = slowBroker();
    const out = new SerialPublisher(broker.publish, createLogger('silent'));
    for (let i = 0; i < 100; i++) out.retain(`alarms/major/door_forced/door-${i}`, { n: i });
    await new Promise((r) => setImmediate(r));
    expect(broker.sent).toHaveLength(100);
    expect(broker.sent[99]).toBe('alarms/major/door_forced/door-99 {"n":99}');
  });

  it("sends a fire alarm while other alarms wait behind one topic's publish that has not completed", async () => {
    const broker = slowBroker();
    const out = new SerialPublisher(broker.publish, createLogger('silent'));
    // The door's first publish has not completed: its second waits, and everything asked for after it too.
    out.retain('alarms/major/door_forced/door-1', { n: 1 });
    out.retain('alarms/major/door_forced/door-1', { n: 2 });
    for (let i = 0; i < 100; i++) out.retain(`alarms/minor/door_held_open/door-${i}`, { n: i });
    out.retain('alarms/critical/fire_alarm/det-1', { state: 'active' }, { urgent: true });
    await new Promise((r) => setImmediate(r));
    // The fire alarm went out (before or beside the door's first); none of the 101 behind the door's second did.
    expect([...broker.sent].sort()).toStrictEqual(['alarms/critical/fire_alarm/det-1 {"state":"active"}', 'alarms/major/door_forced/door-1 {"n":1}']);
  });

  it('keeps the order of one topic, and everything asked for after an urgent publish comes after it', async () => {
    const broker = slowBroker();
    const out = new SerialPublisher(broker.publish, createLogger('silent'));
    out.retain('alarms/a', { v: 1 });
    out.retain('alarms/fire', { v: 1 });
    out.finish('alarms/fire', { v: 2 }, { urgent: true });
    out.retain('alarms/b', { v: 1 });
    for (let i = 0; i < 5; i++) await broker.release();
    await out.settled();
    expect(broker.sent).toStrictEqual([
      'alarms/a {"v":1}',
      'alarms/fire {"v":1}',
      'alarms/fire {"v":2}',
      'alarms/fire (delete)',
      'alarms/b {"v":1}',
    ]);
  });
});
