/**
 * What a person reads in a robot message or an e-mail, in the site's language: severity, message, where, when,
 * and the link to the alarm in the console.
 */
import type { Alarm, Severity } from '../alarms/model.js';
import { wallClock } from '../shared/wall-clock.js';
import type { Language } from './site-channels.js';

/** The events a notification is sent for (contract §16). */
export type NotifyEvent = 'raised' | 'acknowledged' | 'cleared' | 'escalated';

interface Words {
  severity: Record<Severity, string>;
  event: Record<NotifyEvent, string>;
  labels: { severity: string; where: string; device: string; time: string; escalated: (after: string) => string; link: string; rule: string };
}

const WORDS: Record<Language, Words> = {
  'zh-CN': {
    severity: { critical: '紧急', major: '重要', minor: '次要', warning: '提示' },
    event: { raised: '告警', acknowledged: '已确认', cleared: '已清除', escalated: '升级' },
    labels: {
      severity: '级别',
      where: '位置',
      device: '设备',
      time: '时间',
      escalated: (after) => `${after}后仍无人确认`,
      link: '在控制台查看',
      rule: '规则',
    },
  },
  en: {
    severity: { critical: 'Critical', major: 'Major', minor: 'Minor', warning: 'Warning' },
    event: { raised: 'Alarm', acknowledged: 'Acknowledged', cleared: 'Cleared', escalated: 'Escalation' },
    labels: {
      severity: 'Severity',
      where: 'Where',
      device: 'Device',
      time: 'Time',
      escalated: (after) => `still unacknowledged after ${after}`,
      link: 'Open in the console',
      rule: 'Rule',
    },
  },
};

/** What a text is made from. */
export interface TextInput {
  alarm: Alarm;
  event: NotifyEvent;
  language: Language;
  /** The console's base address, without a trailing slash. */
  consoleUrl: string;
  timeZone: string;
  /** An escalation's delay as written in the site file (`2m`). */
  after?: string;
}

/** The alarm's page in the console. */
export function alarmLink(consoleUrl: string, alarm: Alarm): string {
  return `${consoleUrl}/#/alarms/${encodeURIComponent(alarm.id)}`;
}

/** `2026-12-06 19:20:05` in the given zone. */
export function localTime(iso: string, timeZone: string): string {
  const c = wallClock(Date.parse(iso), timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${c.year}-${two(c.month)}-${two(c.day)} ${two(c.hour)}:${two(c.minute)}:${two(c.second)}`;
}

/** Building and zone as the alarm names them (names when it carries them, ids otherwise). */
function where(alarm: Alarm): string | undefined {
  const text = [alarm.buildingName, alarm.zoneName ?? alarm.zone].filter(Boolean).join(' ');
  return text || undefined;
}

/** The alarm's message in `language`; an alarm raised before it had `messages` has only the one. */
export function messageIn(alarm: Alarm, language: Language): string {
  return alarm.messages?.[language] ?? alarm.message;
}

/** The title line: `【紧急】告警：3号楼12层烟感报警` / `[Critical] Alarm: Smoke at 3-12`. */
export function titleOf(input: TextInput): string {
  const w = WORDS[input.language];
  const sev = w.severity[input.alarm.severity];
  const open = input.language === 'zh-CN' ? `【${sev}】` : `[${sev}] `;
  const colon = input.language === 'zh-CN' ? '：' : ': ';
  // A fire alarm raised during a fire-test silence is still sent (nothing holds a life-safety alarm), marked as a test.
  const test = input.alarm.test ? (input.language === 'zh-CN' ? '【测试】' : '[TEST] ') : '';
  return `${test}${open}${w.event[input.event]}${colon}${messageIn(input.alarm, input.language)}`;
}

/** The detail lines (label, value), in order. */
export function detailLines(input: TextInput): Array<[string, string]> {
  const { alarm, language } = input;
  const w = WORDS[language];
  const lines: Array<[string, string]> = [[w.labels.severity, w.severity[alarm.severity]]];
  const place = where(alarm);
  if (place) lines.push([w.labels.where, place]);
  if (alarm.device) lines.push([w.labels.device, alarm.device]);
  lines.push([w.labels.time, localTime(alarm.firstSeen, input.timeZone)]);
  if (input.event === 'escalated' && input.after) lines.push([w.event.escalated, w.labels.escalated(input.after)]);
  return lines;
}

/** Markdown for a WeCom or DingTalk robot; `mention` adds the `@mobile` DingTalk needs in the text. */
export function robotMarkdown(input: TextInput, mention: readonly string[] = []): string {
  const colon = input.language === 'zh-CN' ? '：' : ': ';
  const lines = [`### ${titleOf(input)}`, ...detailLines(input).map(([k, v]) => `- ${k}${colon}${v}`)];
  lines.push(`- [${WORDS[input.language].labels.link}](${alarmLink(input.consoleUrl, input.alarm)})`);
  if (mention.length > 0) lines.push('', mention.map((m) => `@${m}`).join(' '));
  return lines.join('\n');
}

/** Plain text: a WeCom text message (the form that can mention people) and the e-mail body. */
export function plainText(input: TextInput): string {
  const colon = input.language === 'zh-CN' ? '：' : ': ';
  const lines = [titleOf(input), ...detailLines(input).map(([k, v]) => `${k}${colon}${v}`)];
  lines.push(`${WORDS[input.language].labels.link}${colon}${alarmLink(input.consoleUrl, input.alarm)}`);
  return lines.join('\n');
}

/** An e-mail's subject: `[critical] message` (the severity as the API writes it, for mail filters), the message in `language`. */
export function mailSubject(alarm: Alarm, language: Language): string {
  return `[${alarm.severity}] ${messageIn(alarm, language)}`.replace(/[\r\n]+/g, ' ');
}
