/** The security desk of `npm run demo`: alarms and work orders printed as an operator's subscriber receives them. */
import mqtt, { type MqttClient } from 'mqtt';
import { Topics } from '../src/topics.js';

/** The gateway the demo starts reads BASE_TOPIC from the same environment. */
export const BASE_TOPIC = process.env.BASE_TOPIC ?? 'sc';
const TOPICS = new Topics(BASE_TOPIC);
const COLOURS: Record<string, string> = { critical: '\x1b[41;97m', major: '\x1b[31m', minor: '\x1b[33m', warning: '\x1b[36m' };
const RESET = '\x1b[0m';
const tty = process.stdout.isTTY;
const colour = (severity: string, text: string) => (tty ? `${COLOURS[severity] ?? ''}${text}${RESET}` : text);

/** The local time of day (TZ: the demo sets the site's time zone), 24-hour. */
export const clock = () => new Date().toTimeString().slice(0, 8);

/** An ISO time as the local `MM-DD HH:MM`. */
function localMinute(iso: string): string {
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** Prints alarms and work orders from their topics (contract §4) as an operator subscriber sees them. */
export async function watch(mqttUrl: string, apiUrl: string, token: string, site: string): Promise<MqttClient> {
  const res = await fetch(`${apiUrl}/api/operators`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo desk', sites: [site] }),
  });
  if (res.status !== 201) throw new Error(`the desk's operator account was refused: ${res.status} ${await res.text()}`);
  const { mqtt: creds } = (await res.json()) as { mqtt: { username: string; password: string } };
  const client = await mqtt.connectAsync(mqttUrl, { ...creds, protocolVersion: 4, reconnectPeriod: 0 });
  const seen = new Map<string, string>();
  client.on('message', (topic, payload) => {
    if (payload.length === 0) return; // a retained message deleted after its final state was printed
    const body = JSON.parse(payload.toString('utf8')) as Record<string, string | number>;
    const out = (line: string) => process.stdout.write(`${clock()}  ${line}\n`);
    if (topic.includes('/alarms/')) {
      const state = String(body.state);
      const key = `${body.id}:${state}:${body.severity}:${body.count}`;
      if (seen.get(String(body.id)) === key) return;
      seen.set(String(body.id), key);
      const what = state === 'active' && Number(body.count) > 1 ? `repeat ×${body.count}` : state;
      out(`${colour(String(body.severity), `ALARM ${String(body.severity).padEnd(8)}`)} ${what.padEnd(12)} ${body.type} @ ${body.source}: ${body.message}`);
    } else if (topic.includes('/workorders/')) {
      out(`WORK ORDER ${String(body.priority).padEnd(7)} ${String(body.status).padEnd(12)} ${body.id}: ${body.title} (due ${localMinute(String(body.dueAt))})`);
    }
  });
  await client.subscribeAsync([TOPICS.alarmsFilter(site), TOPICS.workOrdersFilter(site)], { qos: 1 });
  return client;
}
