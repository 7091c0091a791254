import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliver, type Delivery } from '../../../src/notify/channels.js';
import type { Channel } from '../../../src/notify/site-channels.js';
import { ALARM } from './alarm.js';

const BOTH = { ...ALARM, message: 'smoke-b3-12 火警', messages: { 'zh-CN': 'smoke-b3-12 火警', en: 'Fire alarm at smoke-b3-12' } };

describe("a robot message in the site's language and time zone", () => {
  let server: Server;
  let url: string;
  let got: Array<{ text: { content: string } }>;

  beforeEach(async () => {
    got = [];
    server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8').on('data', (c: string) => (raw += c));
      req.on('end', () => {
        got.push(JSON.parse(raw));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/robot`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it("writes the alarm's English message and the site's clock when the delivery says so", async () => {
    const channel = { id: 'desk', wecom: url, mention: ['13800000000'] } as Channel;
    const d: Delivery = { channel, event: 'raised', site: 'maple-court', alarm: BOTH, language: 'en', timeZone: 'America/New_York' };
    await deliver(d, { consoleUrl: 'http://desk:8080', timeZone: 'Asia/Shanghai', timeoutMs: 2000, from: 'gw@example.com' });
    const lines = got[0].text.content.split('\n');
    expect([lines[0], lines.find((l) => l.startsWith('Time'))]).toStrictEqual(['[Critical] Alarm: Fire alarm at smoke-b3-12', 'Time: 2026-12-06 06:20:05']);
  });

  it("falls back on the gateway's clock and writes Chinese for a Chinese site", async () => {
    const channel = { id: 'desk', wecom: url, mention: ['13800000000'] } as Channel;
    await deliver({ channel, event: 'raised', site: 'maple-court', alarm: BOTH, language: 'zh-CN' }, { consoleUrl: 'http://desk:8080', timeZone: 'Asia/Shanghai', timeoutMs: 2000, from: 'gw@example.com' });
    const lines = got[0].text.content.split('\n');
    expect([lines[0], lines.find((l) => l.startsWith('时间'))]).toStrictEqual(['【紧急】告警：smoke-b3-12 火警', '时间：2026-12-06 19:20:05']);
  });
});
