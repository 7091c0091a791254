import { describe, expect, it } from 'vitest';
import { SEVERITIES } from '../../src/alarms/model.js';
import { Bus } from '../../src/bus.js';
import { buildDefinitions, DefinitionsPublisher, type Definitions } from '../../src/definitions.js';
import { KIND_NAMES } from '../../src/devices/kinds/index.js';
import { createLogger } from '../../src/log.js';
import { parseRule, type Rule } from '../../src/rules/schema.js';
import { Topics } from '../../src/topics.js';
import { FINAL_STATUSES, PRIORITIES, SETTLED_STATUSES, TRANSITIONS, WORK_ORDER_STATUSES } from '../../src/workorders/model.js';

const log = createLogger('silent');

function rule(raw: Record<string, unknown>): Rule {
  const r = parseRule(raw, 'rules/test.yaml', 0);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.rule;
}

const SMOKE = rule({
  id: 'smoke-high',
  match: { kind: ['fire'] },
  when: { telemetry: 'smokeObscurationPct', above: 8, for: '30s' },
  alarm: { type: 'smoke_high', severity: 'major', message: 'Smoke at {device} ({value} %)', escalate: { after: '5m', to: 'critical' } },
});
const OFFLINE = rule({ id: 'offline', when: { absent: '10m' }, alarm: { type: 'device_offline', severity: 'warning' } });
const FIRE = rule({
  id: 'fire-alarm',
  description: { 'zh-CN': '火灾报警', en: 'Fire alarm' },
  match: { kind: ['fire'] },
  when: { event: 'fire_alarm' },
  alarm: {
    type: 'fire_alarm',
    severity: 'critical',
    message: { 'zh-CN': '{device}（{zone}）火警', en: 'Fire alarm at {device} ({zone})' },
    instructions: { 'zh-CN': '派保安到现场确认。', en: 'Send a guard to check.' },
  },
});
const HEAT = rule({ id: 'heat', when: { telemetry: 'temperatureC', above: 60 }, alarm: { type: 'heat', severity: 'major', message: { en: 'Heat at {device}' }, instructions: '打 119' } });
const INSPECT = rule({ id: 'inspect', when: { schedule: '0 9 * * 1' }, workOrder: { category: 'inspection', priority: 'low' } });

const OVERDUE = {
  type: 'workorder_overdue',
  severity: 'major',
  rule: 'workorder_overdue',
  message: '工单 {workOrder}“{title}”已逾期（应于 {dueAt} 完成）',
  messages: { 'zh-CN': '工单 {workOrder}“{title}”已逾期（应于 {dueAt} 完成）', en: 'Work order {workOrder} "{title}" is overdue (due {dueAt})' },
  instructions: {
    'zh-CN': '联系工单的处理人，了解维修进展；无人处理时重新指派或上报主管。',
    en: "Call the work order's assignee and ask how the repair is going; when nobody has it, assign it or tell the supervisor.",
  },
  description: { 'zh-CN': '工单在应完成时间前未解决；紧急工单逾期为严重告警。', en: 'A work order was not resolved by its due time; an overdue urgent order is critical.' },
  severityByPriority: { urgent: 'critical', high: 'major', normal: 'major', low: 'major' },
};
const FLOODING = {
  type: 'device_flooding',
  severity: 'warning',
  rule: 'quota',
  message: '{device} 每秒发送 {rate} 条消息，超过其配额 {limit} 条',
  messages: { 'zh-CN': '{device} 每秒发送 {rate} 条消息，超过其配额 {limit} 条', en: '{device} sends {rate} messages a second, more than its quota of {limit}' },
  instructions: {
    'zh-CN': '检查该设备是否故障或配置有误（上报过于频繁）。修复前，其超出配额的普通消息会被延迟或丢弃；生命安全事件不受影响。',
    en: 'Check the device for a fault or a wrong setting (it reports too often). Until it is fixed, its ordinary messages over the quota are delayed or dropped; life-safety events still pass.',
  },
  description: { 'zh-CN': '设备发送消息的速率超过其配额（DEVICE_MAX_RATE）。', en: 'A device sends messages faster than its quota (DEVICE_MAX_RATE).' },
};

describe('buildDefinitions', () => {
  it("lists the alarm types of the rules in force, one per rule that raises one, then the gateway's own", () => {
    expect(buildDefinitions([SMOKE, INSPECT, OFFLINE]).alarms.types).toStrictEqual([
      {
        type: 'smoke_high',
        severity: 'major',
        rule: 'smoke-high',
        message: 'Smoke at {device} ({value} %)',
        messages: { 'zh-CN': 'Smoke at {device} ({value} %)', en: 'Smoke at {device} ({value} %)' },
        escalateTo: 'critical',
      },
      { type: 'device_offline', severity: 'warning', rule: 'offline' },
      OVERDUE,
      FLOODING,
    ]);
    expect(buildDefinitions([]).alarms.types).toStrictEqual([OVERDUE, FLOODING]);
  });

  it('gives per alarm type the message in the default language and in each, the instructions and the description', () => {
    expect(buildDefinitions([FIRE, HEAT]).alarms.types.slice(0, 2)).toStrictEqual([
      {
        type: 'fire_alarm',
        severity: 'critical',
        rule: 'fire-alarm',
        message: '{device}（{zone}）火警',
        messages: { 'zh-CN': '{device}（{zone}）火警', en: 'Fire alarm at {device} ({zone})' },
        instructions: { 'zh-CN': '派保安到现场确认。', en: 'Send a guard to check.' },
        description: { 'zh-CN': '火灾报警', en: 'Fire alarm' },
      },
      // Written in one language: the other says the same.
      { type: 'heat', severity: 'major', rule: 'heat', message: 'Heat at {device}', messages: { 'zh-CN': 'Heat at {device}', en: 'Heat at {device}' }, instructions: { 'zh-CN': '打 119', en: '打 119' } },
    ]);
  });

  it("takes severities, statuses, transitions and the settled and final statuses from the gateway's own tables", () => {
    const d = buildDefinitions([]);
    expect(d.alarms).toMatchObject({ severities: [...SEVERITIES], states: ['active', 'acknowledged', 'cleared'] });
    expect(d.workOrders).toStrictEqual({
      priorities: [...PRIORITIES],
      statuses: [...WORK_ORDER_STATUSES],
      transitions: Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, [...TRANSITIONS[s]]])),
      settled: [...SETTLED_STATUSES],
      final: [...FINAL_STATUSES],
    });
    expect(Object.keys(d.kinds)).toStrictEqual([...KIND_NAMES]);
    expect(d.lifeSafetyEvents).toStrictEqual([
      { kind: 'fire', type: 'fire_alarm' },
      { kind: 'sos', type: 'call' },
      { kind: 'lift', type: 'passenger_trapped' },
      { kind: 'lift', type: 'alarm_button' },
    ]);
    expect(d.kinds.lift.telemetry.direction).toStrictEqual({ type: 'string', values: ['up', 'down', 'idle'] });
  });

  it('is plain JSON: what is published is what is answered', () => {
    const d = buildDefinitions([SMOKE]);
    expect(JSON.parse(JSON.stringify(d))).toStrictEqual(d);
  });
});

describe('DefinitionsPublisher', () => {
  function setup(sites: string[]) {
    const bus = new Bus(log);
    const published: Array<{ topic: string; body: Definitions; retain?: boolean; qos?: number }> = [];
    let rules: Rule[] = [SMOKE];
    const publisher = new DefinitionsPublisher({
      bus,
      topics: new Topics('sc'),
      publish: async (topic, payload, opts) => void published.push({ topic, body: JSON.parse(String(payload)), ...opts }),
      document: () => buildDefinitions(rules),
      sites: () => sites,
      log,
    });
    return { bus, published, publisher, setRules: (r: Rule[]) => (rules = r) };
  }

  it('retains the document at QoS 1 for every site with a device when it starts', async () => {
    const { published, publisher } = setup(['maple-court', 'oak-park']);
    publisher.start();
    await publisher.settled();
    expect(published).toStrictEqual([
      { topic: 'sc/maple-court/gateway/definitions', body: buildDefinitions([SMOKE]), qos: 1, retain: true },
      { topic: 'sc/oak-park/gateway/definitions', body: buildDefinitions([SMOKE]), qos: 1, retain: true },
    ]);
    publisher.stop();
  });

  it("publishes to a new device's site once, and not again for a site it already serves", async () => {
    const { bus, published, publisher } = setup(['maple-court']);
    publisher.start();
    bus.emit('deviceRegistered', { site: 'maple-court', kind: 'fire', device: 'f2', zone: 'b1' });
    bus.emit('deviceRegistered', { site: 'elm-yard', kind: 'fire', device: 'f3', zone: 'b1' });
    bus.emit('deviceRegistered', { site: 'elm-yard', kind: 'access', device: 'd1', zone: 'b1' });
    await publisher.settled();
    expect(published.map((p) => p.topic)).toStrictEqual(['sc/maple-court/gateway/definitions', 'sc/elm-yard/gateway/definitions']);
    publisher.stop();
  });

  it('republishes to every site when a rules load changes the alarm types, and only then', async () => {
    const { bus, published, publisher, setRules } = setup(['maple-court', 'oak-park']);
    publisher.start();
    bus.emit('rulesLoaded', { rules: 1 });
    await publisher.settled();
    expect(published).toHaveLength(2);
    setRules([SMOKE, OFFLINE]);
    bus.emit('rulesLoaded', { rules: 2 });
    await publisher.settled();
    expect(published.slice(2).map((p) => [p.topic, p.body.alarms.types.map((t) => t.type)])).toStrictEqual([
      ['sc/maple-court/gateway/definitions', ['smoke_high', 'device_offline', 'workorder_overdue', 'device_flooding']],
      ['sc/oak-park/gateway/definitions', ['smoke_high', 'device_offline', 'workorder_overdue', 'device_flooding']],
    ]);
  });

  it('listens to nothing once stopped', async () => {
    const { bus, published, publisher, setRules } = setup([]);
    publisher.start();
    publisher.stop();
    setRules([]);
    bus.emit('rulesLoaded', { rules: 0 });
    bus.emit('deviceRegistered', { site: 'elm-yard', kind: 'fire', device: 'f3', zone: 'b1' });
    await publisher.settled();
    expect(published).toStrictEqual([]);
  });
});
