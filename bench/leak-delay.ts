/**
 * `npm run bench:leak-delay`: how long the `anomaly` form takes to flag a night leak close to the night's noise,
 * and how that depends on `for`. A building's supply flow (tests/fixtures/prediction-data.ts: about 0.4 m³/h at
 * night with ±17 % noise, minute readings) gains a leak of 10 % of its day flow at 02:00 on the fourth night of a
 * week; the rule (7-day baseline by hour of the day, z 4) is replayed through the real engine (simulateRule, the
 * code of POST /api/rules/test) over that week, its baseline first read from the week before as the gateway
 * reads InfluxDB (the first reading of each part of the quarter hour). The same readings are replayed over
 * `--stretches` different weeks: the baseline's sample is drawn by the readings' times, so each week gives
 * another sample, as each building and week does. A normal building beside it counts false alarms.
 *
 *   node --import tsx bench/leak-delay.ts [--stretches 120] [--for 10m,30m,1h]
 */
import { parseArgs } from 'node:util';
import type { RuleDevice } from '../src/rules/actions.js';
import type { HistoryQuery, HistoryReading } from '../src/rules/conditions/types.js';
import { parseRule } from '../src/rules/schema.js';
import { simulateRule, type SimMessage } from '../src/rules/simulate.js';
import { historyPerHour } from '../src/rules/conditions/anomaly.js';
import { sampleIntervalSeconds } from '../src/storage/influx/baseline-history.js';
import { DAY_MEAN_FLOW, flowReadings } from '../tests/fixtures/prediction-data.js';

const { values: args } = parseArgs({ options: { stretches: { type: 'string', default: '120' }, for: { type: 'string', default: '10m,30m,1h' } } });
const STRETCHES = Number(args.stretches);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const TZ = 'Asia/Shanghai';
/** Monday 2 November 2026, 00:00 in Shanghai: the first stretch; the others start a day apart. */
const FIRST = Date.parse('2026-11-01T16:00:00Z');

const devices: RuleDevice[] = ['normal', 'leaking'].map((id) => ({ id, kind: 'water', site: 's', zone: 'b1', tags: {}, online: true, lastSeen: null }));

/** The first reading of each sample interval, at the interval's start: what the gateway's InfluxDB read answers. */
function sampled(rows: ReadonlyArray<[number, number]>, perHour: number): Array<[number, number]> {
  const every = sampleIntervalSeconds(perHour) * 1000;
  const out: Array<[number, number]> = [];
  let last = NaN;
  for (const [ts, v] of rows) {
    const start = Math.floor(ts / every) * every;
    if (start !== last) out.push([start, v]);
    last = start;
  }
  return out;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (min: number) => (min === Infinity ? 'not flagged' : min < 120 ? `${Math.round(min)} min` : `${(min / 60).toFixed(1)} h`);

console.log(`${STRETCHES} stretches; a leak of ${(0.1 * DAY_MEAN_FLOW).toFixed(2)} m³/h from 02:00 of the fourth night, to the end of the week`);
console.log('| for | flagged within 1 h | within 4 h | in the 4 leaking nights | delay median | delay p90 | false alarms (normal weeks) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const forText of args.for!.split(',')) {
  const parsed = parseRule(
    { id: 'leak', match: { kind: 'water' }, when: { telemetry: 'flowM3h', anomaly: { baseline: '7d', by: 'hourOfDay', z: 4 }, for: forText }, alarm: { type: 'flow_anomaly', severity: 'major' } },
    'bench',
    0,
  );
  if (!parsed.ok) throw new Error(`--for ${forText}: ${parsed.errors.join('; ')}`);
  const rule = parsed.rule;
  if (rule.when.form !== 'anomaly') throw new Error('not an anomaly rule');
  const perHour = historyPerHour(rule.when);
  const delays: number[] = [];
  let falseAlarms = 0;
  for (let k = 0; k < STRETCHES; k++) {
    const m = FIRST + k * DAY;
    const from = m + WEEK;
    const leakFrom = from + 3 * DAY + 2 * HOUR;
    const normal = flowReadings({ from: m, minutes: 14 * 1440, seed: 41, offsetHours: 8 });
    const leaking = flowReadings({ from: m, minutes: 14 * 1440, seed: 42, offsetHours: 8, leak: { flow: 0.1 * DAY_MEAN_FLOW, at: (ts) => ts >= leakFrom } });
    const history: Record<string, Array<[number, number]>> = {
      normal: sampled(normal.filter(([ts]) => ts < from), perHour),
      leaking: sampled(leaking.filter(([ts]) => ts < from), perHour),
    };
    const messages: SimMessage[] = [];
    for (let i = 0; i < normal.length; i++) {
      if (normal[i][0] < from) continue;
      messages.push({ ts: normal[i][0], site: 's', kind: 'water', device: 'normal', zone: 'b1', telemetry: { flowM3h: normal[i][1] } });
      messages.push({ ts: leaking[i][0], site: 's', kind: 'water', device: 'leaking', zone: 'b1', telemetry: { flowM3h: leaking[i][1] } });
    }
    const read = (q: HistoryQuery): HistoryReading[] => (history[q.device] ?? []).filter(([ts]) => ts >= q.from && ts < q.to);
    const raised = simulateRule(rule, messages, devices, { timeZone: TZ, from, until: from + WEEK, history: read }).filter((o) => o.kind === 'raised');
    falseAlarms += raised.filter((o) => o.source === 'normal').length;
    const first = raised.find((o) => o.source === 'leaking');
    delays.push(first ? (first.at - leakFrom) / MINUTE : Infinity);
  }
  delays.sort((a, b) => a - b);
  const share = (n: number) => `${n}/${STRETCHES}`;
  console.log(
    `| ${forText} | ${share(delays.filter((d) => d < 60).length)} | ${share(delays.filter((d) => d < 240).length)} | ${share(delays.filter((d) => d < Infinity).length)} | ${fmt(quantile(delays, 0.5))} | ${fmt(quantile(delays, 0.9))} | ${falseAlarms} |`,
  );
}
