/**
 * One delivery to one channel (contract §16): the generic webhook, the WeCom and DingTalk group robots, e-mail over
 * SMTP. Each `deliver` resolves when the receiver took the message and throws otherwise; retries are the queue's.
 */
import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Alarm } from '../alarms/model.js';
import { channelType, type Channel, type Language } from './site-channels.js';
import { mailSubject, plainText, robotMarkdown, titleOf, type NotifyEvent, type TextInput } from './texts.js';

/** A failed delivery that trying again cannot fix (no SMTP server configured). */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

/** What is sent, to whom. */
export interface Delivery {
  channel: Channel;
  event: NotifyEvent;
  site: string;
  alarm: Alarm;
  language: Language;
  /** The site's time zone (contract §12); default: the context's, the gateway's. */
  timeZone?: string;
  /** An escalation's delay as written (`2m`). */
  after?: string;
}

export interface SendContext {
  consoleUrl: string;
  timeZone: string;
  timeoutMs: number;
  /** The e-mail transport; undefined without SMTP_URL. */
  mail?: MailTransport;
  from: string;
  /** Aborted when the gateway stops: a hung receiver does not hold up the shutdown. */
  signal?: AbortSignal;
}

export interface MailTransport {
  sendMail(message: { from: string; to: string[]; subject: string; text: string }): Promise<unknown>;
  close(): void;
}

/** An SMTP transport for `smtp://user:pass@host:port` or `smtps://…`, with the delivery timeout. */
export function smtpTransport(url: string, timeoutMs: number): MailTransport {
  return nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
}

/** `sha256=<hex HMAC-SHA256 of the body>`, the webhook's `X-SC-Signature` header. */
export function webhookSignature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The robot's URL with DingTalk's signature: `&timestamp=<ms>&sign=<URL-encoded base64 HMAC-SHA256 of "timestamp\nsecret">`. */
export function dingtalkSignedUrl(url: string, secret: string, timestamp: number): string {
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
  return `${url}${url.includes('?') ? '&' : '?'}timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`;
}

/** The JSON body a webhook receives. */
export function webhookBody(d: Pick<Delivery, 'event' | 'site' | 'alarm'>): string {
  return JSON.stringify({ event: d.event, site: d.site, alarm: d.alarm });
}

/** A WeCom group robot's body: markdown, or text with `mentioned_mobile_list` when the channel mentions people. */
export function wecomBody(input: TextInput, mention?: readonly string[]): unknown {
  if (mention && mention.length > 0) return { msgtype: 'text', text: { content: plainText(input), mentioned_mobile_list: [...mention] } };
  return { msgtype: 'markdown', markdown: { content: robotMarkdown(input) } };
}

/** A DingTalk robot's body: markdown with the mentioned mobiles in `at` and in the text (DingTalk wants both). */
export function dingtalkBody(input: TextInput, mention: readonly string[] = []): unknown {
  return { msgtype: 'markdown', markdown: { title: titleOf(input), text: robotMarkdown(input, mention) }, at: { atMobiles: [...mention], isAtAll: false } };
}

/** Sends one delivery; throws with what went wrong. */
export async function deliver(d: Delivery, ctx: SendContext): Promise<void> {
  const input: TextInput = { alarm: d.alarm, event: d.event, language: d.language, consoleUrl: ctx.consoleUrl, timeZone: d.timeZone ?? ctx.timeZone, after: d.after };
  const c = d.channel;
  switch (channelType(c)) {
    case 'webhook': {
      const body = webhookBody(d);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (c.secret) headers['x-sc-signature'] = webhookSignature(body, c.secret);
      await post(c.webhook!, body, headers, ctx);
      return;
    }
    case 'wecom':
      return robotAnswer(await post(c.wecom!, JSON.stringify(wecomBody(input, c.mention)), JSON_HEADERS, ctx));
    case 'dingtalk': {
      const url = c.secret ? dingtalkSignedUrl(c.dingtalk!, c.secret, Date.now()) : c.dingtalk!;
      return robotAnswer(await post(url, JSON.stringify(dingtalkBody(input, c.mention)), JSON_HEADERS, ctx));
    }
    case 'email':
      if (!ctx.mail) throw new PermanentFailure('no SMTP_URL: e-mail is not configured');
      await ctx.mail.sendMail({ from: ctx.from, to: c.email!, subject: mailSubject(d.alarm, d.language), text: mailBody(input) });
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The e-mail's text: the robot's lines and the alarm's identity, for whoever looks it up. */
export function mailBody(input: TextInput): string {
  const a = input.alarm;
  return `${plainText(input)}\n\nalarm ${a.id} · ${a.type} · ${a.source} · site ${a.site} · rule ${a.rule}\n`;
}

/** POSTs and answers the body text; a non-2xx answer, a refused connection or the timeout throws. */
async function post(url: string, body: string, headers: Record<string, string>, ctx: Pick<SendContext, 'timeoutMs' | 'signal'>): Promise<string> {
  const timeout = AbortSignal.timeout(ctx.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers, signal: ctx.signal ? AbortSignal.any([timeout, ctx.signal]) : timeout, redirect: 'error' });
  } catch (err) {
    throw new Error(failure(err, ctx), { cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
  return text;
}

/** What went wrong with a request, in a few words: `ECONNREFUSED`, `no answer within 10000 ms`. */
function failure(err: unknown, ctx: Pick<SendContext, 'timeoutMs' | 'signal'>): string {
  const e = err as Error & { cause?: { code?: string } };
  if (ctx.signal?.aborted) return 'the gateway stopped';
  if (e.name === 'TimeoutError') return `no answer within ${ctx.timeoutMs} ms`;
  return e.cause?.code ?? e.message;
}

/** A robot took the message when it answers `{ errcode: 0 }`. */
function robotAnswer(text: string): void {
  let answer: { errcode?: unknown; errmsg?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error('the robot answered something that is not JSON');
  }
  if (answer?.errcode !== 0) throw new Error(`errcode ${String(answer?.errcode)}: ${String(answer?.errmsg ?? '').slice(0, 200)}`);
}
