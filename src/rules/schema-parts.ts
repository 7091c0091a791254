/** The small pieces rule files are made of: durations, templates, match blocks, `during` windows (contract §6). */
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { KIND_NAMES, type KindName } from '../devices/kinds/index.js';
import { inEveryLanguage, LANGUAGES, localisedSchema, type Language, type Localised } from '../shared/language.js';

/**
 * Severities and priorities as the alarm and work order models spell them. Repeated here because
 * `rules/schema` is a leaf (house style §2); engine.ts checks at compile time that they stay equal.
 */
export const RULE_SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type RuleSeverity = (typeof RULE_SEVERITIES)[number];
export const RULE_PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const;
export type RulePriority = (typeof RULE_PRIORITIES)[number];

export type Scalar = number | string | boolean;
export const ScalarSchema = z.union([z.number(), z.string(), z.boolean()], { error: 'must be a number, text or true/false' });

const DURATION_HINT = 'is not a duration such as 500ms, 10s, 5m or 2h';

/** A duration as written (`500ms`, `10s`, `5m`, `2h`, `1d`), as milliseconds. */
export function durationSchema(opts: { min?: number } = {}) {
  const min = opts.min ?? 0;
  return z.unknown().transform((value, ctx): number => {
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${DURATION_HINT}` });
      return z.NEVER;
    }
    if (ms < min) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is too short: it must be at least ${min}ms` });
    return ms;
  });
}

/**
 * The placeholders a template may use (contract §6 names the first four). `{place}` is the zone in words, in the
 * text's language, from the site file (contract §12); the zone's id when the file does not know it.
 */
export const PLACEHOLDERS = ['device', 'zone', 'place', 'site', 'value', 'kind', 'rule'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** A template compiled at load: literal text and placeholders, alternating, so rendering is a join. */
export interface Template {
  text: string;
  parts: Array<string | { name: Placeholder }>;
}

const PLACEHOLDER_RE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Compiles `text`; answers the unknown placeholder names instead when there are any. */
export function compileTemplate(text: string): Template | { unknown: string[] } {
  const parts: Template['parts'] = [];
  const unknown: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    const name = m[1];
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) unknown.push(name);
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ name: name as Placeholder });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return unknown.length > 0 ? { unknown } : { text, parts };
}

export const TemplateSchema = z.string({ error: 'must be text' }).transform((text, ctx): Template => {
  const compiled = compileTemplate(text);
  if ('unknown' in compiled) {
    const known = PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
    ctx.addIssue({ code: 'custom', message: `unknown placeholder ${compiled.unknown.map((u) => `{${u}}`).join(', ')}; use ${known}` });
    return z.NEVER;
  }
  return compiled;
});

/** Text per language as a rule holds it after load: every language, one falling back on the other (`inEveryLanguage`). */
export type LocalisedTemplate = Record<Language, Template>;
export type LocalisedText = Record<Language, string>;

const LOCALISED_HINT = `must be text, or text per language such as { ${LANGUAGES.map((l) => `${l}: ...`).join(', ')} }`;

/**
 * `item` written once for every language or per language (contract §6, issue 17), normalised to every language.
 * The union carries its own message for a value that is neither; describeIssue unwraps a union's issues when
 * only one form fits, so an error names `alarm.message.en`.
 */
function localised<T extends z.ZodType>(item: T) {
  return z.union(localisedSchema(item).options, { error: LOCALISED_HINT }).transform((v) => inEveryLanguage(v as Localised<z.output<T>>));
}

/** A template (`message`, `title`) in one text for all languages or per language, each compiled and checked. */
export const LocalisedTemplateSchema = localised(TemplateSchema);

/** Plain text (`description`, `instructions`) in one text for all languages or per language. */
export const LocalisedTextSchema = localised(z.string({ error: 'must be text' }).min(1, 'must not be empty'));

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as Array<z.output<T>>);

const KindSchema = z.enum(KIND_NAMES, { error: `must be one of ${KIND_NAMES.join(', ')}` });
const NameSchema = z.string().min(1, 'must not be empty');

/** Which sources a rule covers (contract §6 `match`). Zone `b3-*` matches by prefix. */
export const MatchSchema = z.strictObject({
  kind: oneOrMany(KindSchema).optional(),
  site: oneOrMany(NameSchema).optional(),
  zone: oneOrMany(NameSchema).optional(),
  devices: z.array(NameSchema).min(1).optional(),
  tags: z.record(z.string(), z.string({ error: 'tag values are text' })).optional(),
});
export type Match = z.output<typeof MatchSchema>;

/** A command's target: the same shape, but text may hold templates filled from the triggering source. */
export const CommandMatchSchema = z.strictObject({
  kind: oneOrMany(KindSchema).optional(),
  site: oneOrMany(TemplateSchema).optional(),
  zone: oneOrMany(TemplateSchema).optional(),
  devices: z.array(TemplateSchema).min(1).optional(),
  tags: z.record(z.string(), TemplateSchema).optional(),
});
export type CommandMatch = z.output<typeof CommandMatchSchema>;

/** A daily window in site local time; `end` before `start` wraps midnight. Minutes of the day. */
export interface Window {
  text: string;
  start: number;
  end: number;
}

const WINDOW_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

export const WindowSchema = z.unknown().transform((value, ctx): Window => {
  const m = typeof value === 'string' ? WINDOW_RE.exec(value.trim()) : null;
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a daily window such as "22:00-06:00"` });
    return z.NEVER;
  }
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  if (start === end) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} starts and ends at the same time` });
  return { text: String(value).trim(), start, end };
});

export type { KindName };
export { KindSchema, NameSchema };
