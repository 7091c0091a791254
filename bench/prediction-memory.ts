/**
 * `npm run bench:prediction-memory`: the heap the `forecast` and `anomaly` conditions keep per series (a device's
 * field), measured, not computed. N energy meters report powerKw and energyKwh every `--interval` for `--days`
 * of virtual time (enough for every hour slot of an hour-of-day baseline to fill its buckets) through the real
 * rule engine, with one rule set at a time: forecasts only, anomalies only. The memory after a full GC (the JS
 * heap and the typed arrays' backing stores, which live outside it), once the series are full, less the same with
 * the engine and no device, over N × 2 series. The rule state saves are discarded (the gateway writes them to its
 * state store on disk, not the heap), and the last ones pending are let go before measuring. A plain threshold
 * set is measured the same way, for the engine's own share.
 *
 *   node --expose-gc --import tsx bench/prediction-memory.ts [--devices 5000] [--days 15] [--interval 15m]
 */
import { parseArgs } from 'node:util';
import { Bus } from '../src/bus.js';
import { parseDuration } from '../src/config/duration.js';
import { createLogger } from '../src/log.js';
import type { RuleActions } from '../src/rules/actions.js';
import { VirtualClock } from '../src/rules/clock.js';
import { RuleEngine } from '../src/rules/engine.js';
import { parseRule, type Rule } from '../src/rules/schema.js';
import type { RuleStateStore } from '../src/rules/state.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    days: { type: 'string', default: '15' },
    interval: { type: 'string', default: '15m' },
  },
});
const DEVICES = Number(args.devices);
const DAYS = Number(args.days);
const INTERVAL_MS = parseDuration(args.interval!)!;
const FIELDS = ['powerKw', 'energyKwh'] as const;
const START = Date.parse('2026-09-07T00:00:00Z');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function rule(raw: Record<string, unknown>): Rule {
  const r = parseRule(raw, 'bench', 0);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.rule;
}

const SETS: Record<string, Rule[]> = {
  // For comparison: what a plain threshold keeps per device and field, with the engine's own bookkeeping.
  'threshold (for comparison)': FIELDS.map((f) =>
    rule({ id: `th-${f.toLowerCase()}`, match: { kind: 'energy' }, when: { telemetry: f, above: 1e12, for: '1m' }, alarm: { type: `th_${f.toLowerCase()}`, severity: 'warning' } }),
  ),
  'forecast (over 1h)': FIELDS.map((f) =>
    rule({ id: `fc-${f.toLowerCase()}`, match: { kind: 'energy' }, when: { telemetry: f, forecast: { above: 1e12, within: '1h' }, over: '1h' }, alarm: { type: `fc_${f.toLowerCase()}`, severity: 'warning' } }),
  ),
  'anomaly (14d by hourOfDay)': FIELDS.map((f) =>
    rule({ id: `an-${f.toLowerCase()}`, match: { kind: 'energy' }, when: { telemetry: f, anomaly: { baseline: '14d', by: 'hourOfDay', z: 50 } }, alarm: { type: `an_${f.toLowerCase()}`, severity: 'warning' } }),
  ),
};

/** Saves go nowhere: on the gateway they go to the state store on disk. */
const DISCARD: RuleStateStore = { load: () => new Map(), save: () => undefined };

function actions(): RuleActions {
  return {
    raiseAlarm: () => ({ id: 'x', raised: true }),
    clearAlarm: () => undefined,
    updateAlarm: () => undefined,
    openWorkOrder: () => 'wo',
    sendCommand: () => undefined,
    devices: () => [],
    device: () => undefined,
  };
}

/** The JS heap and the typed arrays' backing stores (outside the heap, where the lines and baselines keep their numbers). */
function heapMb(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1e6;
}

function measure(name: string, rules: Rule[]): void {
  const clock = new VirtualClock(START);
  const log = createLogger('silent');
  const bus = new Bus(log);
  const engine = new RuleEngine({ bus, actions: actions(), log, timeZone: 'Asia/Shanghai', clock, state: DISCARD });
  engine.setRules(rules.map((r) => ({ ...r, enabled: true })));
  engine.start();
  const ids = Array.from({ length: DEVICES }, (_, i) => `m${i}`);
  const before = heapMb();
  const started = Date.now();
  let messages = 0;
  for (let t = START; t < START + DAYS * 86_400_000; t += INTERVAL_MS) {
    clock.advanceTo(t);
    const hour = new Date(t).getUTCHours();
    for (const [i, device] of ids.entries()) {
      const powerKw = 20 + 10 * Math.sin((hour / 24) * 2 * Math.PI) + ((i * 7 + t / INTERVAL_MS) % 13) / 10;
      bus.emit('telemetryAccepted', { site: 's', kind: 'energy', device, zone: 'z', ts: t, fields: { powerKw, energyKwh: (t - START) / 3_600_000 * 20 + i } });
      messages++;
    }
  }
  // The state saves still pending (written within a second on the gateway) are not what a series keeps.
  clock.advanceTo(clock.now() + 5_000);
  const after = heapMb();
  const perSeries = ((after - before) * 1e6) / (DEVICES * FIELDS.length);
  process.stdout.write(
    `| ${name} | ${DEVICES} × ${FIELDS.length} | ${(after - before).toFixed(1)} MB | ${Math.round(perSeries)} B | ` +
      `${messages} readings in ${((Date.now() - started) / 1000).toFixed(1)} s | ${((Date.now() - started) * 1000 / messages / rules.length).toFixed(2)} µs |\n`,
  );
  engine.stop();
}

// The time per evaluation includes the bus and the engine's routing (see the threshold row), and the garbage
// collections that happen while feeding.
process.stdout.write(`| rules | series | heap kept | per series | fed | time per evaluation |\n| --- | --- | --- | --- | --- | --- |\n`);
for (const [name, rules] of Object.entries(SETS)) measure(name, rules);
