import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator, watch } from '../helpers/operator.js';

const SITE = 'maple-court';

/** A rule written in both languages (issue 17): message, instructions, description and work-order title. */
const RULE = `- id: door-forced
  description: { zh-CN: 门被强行打开, en: A door forced open }
  match: { kind: access }
  when: { event: door_forced }
  autoClear: false
  alarm:
    type: door_forced
    severity: major
    message: { zh-CN: "{device}（{zone}）门被强行打开", en: "Door forced at {device} ({zone})" }
    instructions: { zh-CN: 派保安到现场查看。, en: Send a guard to look. }
  workOrder:
    category: access
    priority: high
    title: { zh-CN: "检查 {device} 门锁", en: "Check the lock of {device}" }
`;

describe('alarms and work orders in both languages from a real gateway (issue 17)', () => {
  let gw: TestGateway;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'languages-'));
    const rulesDir = join(dataDir, 'rule-files');
    await mkdir(rulesDir);
    await writeFile(join(rulesDir, 'access.yaml'), RULE);
    gw = await startGateway({ RULES_DIR: rulesDir }, dataDir);
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('publishes the alarm with its message in every language and `message` in Chinese on a site without a file; the work order likewise', async () => {
    const desk = await createOperator(gw, 'Desk', [SITE]);
    const live = await watch(gw, desk.mqtt, [`sc/${SITE}/alarms/#`, `sc/${SITE}/workorders/#`]);
    const door = await gw.connect(await gw.register('door-7', 'access', SITE, 'b3-lobby'));
    await door.publishAsync(`sc/${SITE}/access/door-7/event`, JSON.stringify({ type: 'door_forced' }), { qos: 1 });

    // The alarm, its work order, and the alarm again once linked to it.
    const seen = await live.take(3);
    const alarm = seen.filter((m) => m.topic.includes('/alarms/')).at(-1)!.body;
    const order = seen.find((m) => m.topic.includes('/workorders/'))!.body;
    // The whole alarm as the API has it, published as it is.
    expect((await gw.api('GET', `/api/alarms/${alarm.id}`, undefined, desk.token)).body).toMatchObject(alarm);
    expect(alarm).toStrictEqual({
      id: alarm.id,
      site: SITE,
      type: 'door_forced',
      severity: 'major',
      state: 'active',
      acknowledged: false,
      source: 'door-7',
      device: 'door-7',
      kind: 'access',
      zone: 'b3-lobby',
      message: 'door-7（b3-lobby）门被强行打开',
      messages: { 'zh-CN': 'door-7（b3-lobby）门被强行打开', en: 'Door forced at door-7 (b3-lobby)' },
      rule: 'door-forced',
      firstSeen: alarm.firstSeen,
      lastSeen: alarm.firstSeen,
      count: 1,
      incident: alarm.incident,
      workOrder: order.id,
    });
    expect(order).toMatchObject({
      site: SITE,
      title: '检查 door-7 门锁',
      titles: { 'zh-CN': '检查 door-7 门锁', en: 'Check the lock of door-7' },
      description: '门被强行打开',
      alarm: alarm.id,
      zone: 'b3-lobby',
    });
    expect((await gw.api('GET', `/api/workorders/${order.id}`, undefined, desk.token)).body).toStrictEqual(order);

    const types = (await gw.api('GET', '/api/definitions', undefined, desk.token)).body.alarms.types;
    expect(types.find((t: { type: string }) => t.type === 'door_forced')).toStrictEqual({
      type: 'door_forced',
      severity: 'major',
      rule: 'door-forced',
      message: '{device}（{zone}）门被强行打开',
      messages: { 'zh-CN': '{device}（{zone}）门被强行打开', en: 'Door forced at {device} ({zone})' },
      instructions: { 'zh-CN': '派保安到现场查看。', en: 'Send a guard to look.' },
      description: { 'zh-CN': '门被强行打开', en: 'A door forced open' },
    });
  });
});
