import { describe, expect, it } from 'vitest';
import { ALARM } from './alarm.js';
import { dingtalkBody, dingtalkSignedUrl, webhookBody, webhookSignature, wecomBody } from '../../../src/notify/channels.js';
import type { TextInput } from '../../../src/notify/texts.js';

const INPUT: TextInput = { alarm: ALARM, event: 'raised', language: 'en', consoleUrl: 'http://desk:8080', timeZone: 'Asia/Shanghai' };

describe('webhook signature', () => {
  it('is sha256= and the hex HMAC-SHA256 of the body keyed with the secret', () => {
    // Computed independently (Python hmac) for this body and secret.
    expect(webhookSignature('{"event":"raised"}', 'a-shared-secret-16')).toBe('sha256=2139c3dee1759ff25572be15496e72ccca66e4d70a23d5783ff78cce3172362a');
  });

  it('signs exactly the body that is sent: event, site and the alarm JSON', () => {
    expect(JSON.parse(webhookBody({ event: 'escalated', site: 'maple-court', alarm: ALARM }))).toStrictEqual({ event: 'escalated', site: 'maple-court', alarm: ALARM });
  });
});

describe('DingTalk signature', () => {
  it('appends timestamp and the URL-encoded base64 HMAC-SHA256 of "timestamp\\nsecret", keeping the query', () => {
    // Computed independently (Python hmac + base64 + quote).
    expect(dingtalkSignedUrl('https://oapi.dingtalk.com/robot/send?access_token=t0k', 'SECabc123', 1_700_000_000_000)).toBe(
      'https://oapi.dingtalk.com/robot/send?access_token=t0k&timestamp=1700000000000&sign=N5P09a4%2Bp1AMJIJWnIvQd2Yxw9%2Bfu%2FoEBnPrjCcsLXk%3D',
    );
  });

  it('starts the query when the URL has none', () => {
    expect(dingtalkSignedUrl('http://127.0.0.1:9/robot', 'SECabc123', 1_700_000_000_000)).toMatch(/^http:\/\/127\.0\.0\.1:9\/robot\?timestamp=1700000000000&sign=/);
  });
});

describe('robot bodies', () => {
  it('sends WeCom markdown without mentions, and text with mentioned_mobile_list with them', () => {
    const markdown = wecomBody(INPUT) as { msgtype: string; markdown: { content: string } };
    expect(markdown.msgtype).toBe('markdown');
    expect(markdown.markdown.content).toContain('Fire alarm at smoke-b3-12');
    const text = wecomBody(INPUT, ['13800000000']) as { msgtype: string; text: { content: string; mentioned_mobile_list: string[] } };
    expect(text.msgtype).toBe('text');
    expect(text.text.mentioned_mobile_list).toStrictEqual(['13800000000']);
    expect(text.text.content).toContain('http://desk:8080/#/alarms/al-1');
  });

  it('sends DingTalk markdown with a title, the mobiles in at.atMobiles and @-mentioned in the text', () => {
    const body = dingtalkBody(INPUT, ['13800000000']) as { msgtype: string; markdown: { title: string; text: string }; at: { atMobiles: string[] } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('[Critical] Alarm: Fire alarm at smoke-b3-12');
    expect(body.markdown.text).toContain('@13800000000');
    expect(body.at.atMobiles).toStrictEqual(['13800000000']);
  });
});
