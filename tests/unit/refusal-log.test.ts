import { logLines } from '../helpers/log-lines.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RefusalLog } from '../../src/refusal-log.js';


const flushed = () => new Promise((r) => setImmediate(r));

describe('RefusalLog', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('logs the first refusal of each kind from a source in full and sums the rest into one line when the window ends', async () => {
    const { lines, log } = logLines();
    const refusals = new RefusalLog(log, 60_000);
    for (let i = 0; i < 1000; i++) refusals.note('10.0.0.7', 'mqtt subscription refused', { client: 'c1', filter: `x/${i}` });
    for (let i = 0; i < 5; i++) refusals.note('10.0.0.7', 'mqtt publish refused', { client: 'c1', topic: 't' });
    await flushed();
    expect(lines.map((l) => l.msg)).toStrictEqual(['mqtt subscription refused', 'mqtt publish refused']);
    expect(lines[0]).toMatchObject({ source: '10.0.0.7', client: 'c1', filter: 'x/0' });
    await vi.advanceTimersByTimeAsync(60_000);
    await flushed();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({
      msg: 'refusals summarised',
      source: '10.0.0.7',
      refused: { 'mqtt subscription refused': 999, 'mqtt publish refused': 4 },
    });
    refusals.stop();
  });

  it('logs each source on its own, and sources beyond the bound in one shared line', async () => {
    const { lines, log } = logLines();
    const refusals = new RefusalLog(log, 60_000, 3);
    for (let s = 0; s < 10; s++) refusals.note(`10.0.0.${s}`, 'mqtt connection refused', { reason: 'bad_credentials' }, 'info');
    await vi.advanceTimersByTimeAsync(60_000);
    await flushed();
    expect(lines.filter((l) => l.msg === 'mqtt connection refused').map((l) => l.source)).toStrictEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
    expect(lines.at(-1)).toMatchObject({ msg: 'refusals from further sources summarised', sources: 7, refused: { 'mqtt connection refused': 7 } });
    refusals.stop();
  });

  it('writes what is pending at stop, and logs a source in full again in the next window', async () => {
    const { lines, log } = logLines();
    const refusals = new RefusalLog(log, 1000);
    refusals.note('a', 'refused', {});
    refusals.note('a', 'refused', {});
    await vi.advanceTimersByTimeAsync(1000);
    refusals.note('a', 'refused', {});
    refusals.stop();
    await flushed();
    expect(lines.map((l) => l.msg)).toStrictEqual(['refused', 'refusals summarised', 'refused']);
  });
});
