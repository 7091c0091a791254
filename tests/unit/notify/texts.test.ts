import { describe, expect, it } from 'vitest';
import type { Alarm } from '../../../src/alarms/model.js';
import { ALARM } from './alarm.js';
import { mailBody } from '../../../src/notify/channels.js';
import { localTime, mailSubject, plainText, robotMarkdown } from '../../../src/notify/texts.js';

const BASE = { alarm: ALARM, consoleUrl: 'http://desk:8080', timeZone: 'Asia/Shanghai' };

describe('notification texts', () => {
  it('writes a robot message in Chinese: severity, message, zone, local time and the console link', () => {
    expect(robotMarkdown({ ...BASE, event: 'raised', language: 'zh-CN' })).toBe(
      [
        '### 【紧急】告警：Fire alarm at smoke-b3-12',
        '- 级别：紧急',
        '- 位置：b3-f12',
        '- 设备：smoke-b3-12',
        '- 时间：2026-12-06 19:20:05',
        '- [在控制台查看](http://desk:8080/#/alarms/al-1)',
      ].join('\n'),
    );
  });

  it('says how long an escalated alarm has waited, in English', () => {
    expect(plainText({ ...BASE, event: 'escalated', language: 'en', after: '2m' })).toBe(
      [
        '[Critical] Escalation: Fire alarm at smoke-b3-12',
        'Severity: Critical',
        'Where: b3-f12',
        'Device: smoke-b3-12',
        'Time: 2026-12-06 19:20:05',
        'Escalation: still unacknowledged after 2m',
        'Open in the console: http://desk:8080/#/alarms/al-1',
      ].join('\n'),
    );
  });

  it('marks a fire alarm raised during a fire test', () => {
    expect(plainText({ ...BASE, alarm: { ...ALARM, test: true }, event: 'raised', language: 'zh-CN' }).split('\n')[0]).toBe('【测试】【紧急】告警：Fire alarm at smoke-b3-12');
    expect(plainText({ ...BASE, alarm: { ...ALARM, test: true }, event: 'raised', language: 'en' }).split('\n')[0]).toBe('[TEST] [Critical] Alarm: Fire alarm at smoke-b3-12');
  });

  it("writes the alarm's message in the channel's language when the alarm has it in both", () => {
    const both = { ...ALARM, message: 'smoke-b3-12 火警', messages: { 'zh-CN': 'smoke-b3-12 火警', en: 'Fire alarm at smoke-b3-12' } };
    expect(plainText({ ...BASE, alarm: both, event: 'raised', language: 'zh-CN' }).split('\n')[0]).toBe('【紧急】告警：smoke-b3-12 火警');
    expect(plainText({ ...BASE, alarm: both, event: 'raised', language: 'en' }).split('\n')[0]).toBe('[Critical] Alarm: Fire alarm at smoke-b3-12');
    expect(mailSubject(both, 'en')).toBe('[critical] Fire alarm at smoke-b3-12');
    expect(mailSubject(both, 'zh-CN')).toBe('[critical] smoke-b3-12 火警');
  });

  it('names building and zone when the alarm carries their names', () => {
    const named = { ...ALARM, buildingName: '3号楼', zoneName: '12层' } as Alarm;
    expect(robotMarkdown({ ...BASE, alarm: named, event: 'raised', language: 'zh-CN' })).toContain('- 位置：3号楼 12层');
  });

  it('gives the e-mail the subject [severity] message on one line, and the alarm identity in the body', () => {
    expect(mailSubject({ ...ALARM, message: 'Fire\r\nat b3' }, 'en')).toBe('[critical] Fire at b3');
    expect(mailBody({ ...BASE, event: 'raised', language: 'en' })).toContain('alarm al-1 · fire_alarm · smoke-b3-12 · site maple-court · rule fire-alarm');
  });

  it('formats time in the given zone with a 24-hour clock', () => {
    expect(localTime('2026-12-06T16:00:00.000Z', 'Asia/Shanghai')).toBe('2026-12-07 00:00:00');
    expect(localTime('2026-12-06T16:00:00.000Z', 'UTC')).toBe('2026-12-06 16:00:00');
  });
});
