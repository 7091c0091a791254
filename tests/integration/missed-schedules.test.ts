import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator, retainedNow } from '../helpers/operator.js';

// contract §15 "Missed schedules", across a real stop and start of the gateway on the same data dir.
const SITE = 'maple-court';
// Every three seconds (node-cron's seconds field): a downtime of a few seconds misses some.
const RULE = `- id: gate-round
  match: { site: [${SITE}] }
  when: { schedule: "*/3 * * * * *" }
  workOrder: { category: patrol, priority: low, title: "Gate round" }
`;

interface WorkOrder {
  id: string;
  rule?: string;
  late?: boolean;
  due?: string;
  createdAt: string;
}

describe('a schedule missed while the gateway was down', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-missed-'));
    await mkdir(join(dataDir, 'rules'), { recursive: true });
    await writeFile(join(dataDir, 'rules', 'round.yaml'), RULE);
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const workOrders = async () => (await gw!.api<WorkOrder[]>('GET', `/api/workorders?site=${SITE}&limit=1000`)).body;

  it('fires once at start, late, with the last time it was due', async () => {
    gw = await startGateway({}, dataDir);
    await eventually(async () => (await workOrders()).length >= 1, 10_000);
    expect((await workOrders()).some((w) => w.late)).toBe(false);
    await gw.stop();
    const stoppedAt = Date.now();
    // Down for two periods and a bit: at least one firing is missed, and only the last is made up for.
    await new Promise((r) => setTimeout(r, 7_000));
    const startedAt = Date.now();
    gw = await startGateway({}, dataDir);
    const late = await eventually(async () => (await workOrders()).filter((w) => w.late));
    const [order] = late;
    expect(late).toHaveLength(1);
    expect({ rule: order.rule, late: order.late }).toStrictEqual({ rule: 'gate-round', late: true });
    const due = Date.parse(order.due!);
    expect(due).toBeGreaterThan(stoppedAt);
    expect(due).toBeLessThanOrEqual(startedAt + 3_000);
    // The last due time missed: the next one after it is after the start.
    expect(due + 3_000).toBeGreaterThan(startedAt);
    expect(due % 3_000).toBe(0);
    // The same JSON on its retained MQTT topic.
    const desk = await createOperator(gw, 'desk', [SITE]);
    const retained = await retainedNow(gw, desk.mqtt, [`sc/${SITE}/workorders/${order.id}`]);
    expect(retained.map((m) => ({ topic: m.topic, late: m.body.late, due: m.body.due }))).toStrictEqual([{ topic: `sc/${SITE}/workorders/${order.id}`, late: true, due: order.due }]);
  });
});
