/**
 * A rule as a rule file writes it (contract §6), validated and normalised. A leaf (house style §2): the
 * loader, the engine and the API's test route all read rules through this one schema.
 */
import { z } from 'zod';
import { describeKinds, type KindDescription } from '../devices/kinds/describe.js';
import { KINDS, KIND_NAMES, type KindName } from '../devices/kinds/index.js';
import { firstNonFinite, notFinite } from '../finite.js';
import {
  CommandMatchSchema,
  durationSchema,
  LocalisedTemplateSchema,
  LocalisedTextSchema,
  MatchSchema,
  RULE_PRIORITIES,
  RULE_SEVERITIES,
  ScalarSchema,
  type CommandMatch,
  type LocalisedTemplate,
  type LocalisedText,
  type Match,
  type RulePriority,
  type RuleSeverity,
} from './schema-parts.js';
import { checkFieldTypes } from './schema-fields.js';
import { referencedNames, WhenSchema, type When } from './schema-when.js';

export * from './schema-parts.js';
export * from './schema-when.js';

const ID_RE = /^[a-z0-9][a-z0-9_-]*$/;
const TextSchema = z.string({ error: 'must be text' }).min(1, 'must not be empty');

const AlarmSchema = z
  .strictObject({
    type: TextSchema,
    severity: z.enum(RULE_SEVERITIES, { error: `must be one of ${RULE_SEVERITIES.join(', ')}` }),
    message: LocalisedTemplateSchema.optional(),
    /** What the desk must do when it is raised (issue 17): plain text, shown beside the alarm. */
    instructions: LocalisedTextSchema.optional(),
    escalate: z
      .strictObject({ after: durationSchema({ min: 1 }), to: z.enum(RULE_SEVERITIES, { error: `must be one of ${RULE_SEVERITIES.join(', ')}` }) })
      .optional(),
  })
  .superRefine((a, ctx) => {
    // SEVERITIES run from the most severe: escalating must move towards index 0.
    if (a.escalate && RULE_SEVERITIES.indexOf(a.escalate.to) >= RULE_SEVERITIES.indexOf(a.severity)) {
      ctx.addIssue({ code: 'custom', message: `must be more severe than ${a.severity}`, path: ['escalate', 'to'] });
    }
  });

const WorkOrderSchema = z.strictObject({
  category: TextSchema,
  priority: z.enum(RULE_PRIORITIES, { error: `must be one of ${RULE_PRIORITIES.join(', ')}` }),
  title: LocalisedTemplateSchema.optional(),
});

const CommandSchema = z.strictObject({
  match: CommandMatchSchema,
  action: TextSchema,
  params: z.record(z.string(), z.union([ScalarSchema, z.array(z.unknown()), z.record(z.string(), z.unknown()), z.null()])).optional(),
});

export const RuleSchema = z
  .strictObject({
    id: z.string({ error: 'must be text' }).regex(ID_RE, 'must be lowercase letters, digits, - and _, starting with a letter or digit'),
    description: LocalisedTextSchema.optional(),
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    match: MatchSchema.default({}),
    when: WhenSchema,
    alarm: AlarmSchema.optional(),
    workOrder: WorkOrderSchema.optional(),
    commands: z.array(CommandSchema, { error: 'must be a list of commands' }).min(1, 'must not be empty').optional(),
    autoClear: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .superRefine((rule, ctx) => {
    if (!rule.alarm && !rule.workOrder && !rule.commands) {
      ctx.addIssue({ code: 'custom', message: 'needs at least one action: alarm, workOrder or commands', path: [] });
    }
    // The form failed on its own (already reported): there is nothing to cross-check.
    if (!rule.when) return;
    if (rule.when.form === 'event' && rule.when.clearOn && !rule.autoClear) {
      ctx.addIssue({ code: 'custom', message: 'a rule with autoClear: false is never cleared by an event; remove one of them', path: ['when', 'clearOn'] });
    }
    if (rule.when.form === 'usage' && rule.alarm && !rule.autoClear) {
      // contract §9: each firing opens its own work order; an alarm left open would make later firings bumps.
      ctx.addIssue({ code: 'custom', message: 'a usage rule fires and is done: with autoClear: false its alarm stays open and later firings open no work order; remove it', path: ['autoClear'] });
    }
    checkNames(rule.when, rule.match.kind, ctx);
    checkFieldTypes(rule.when, rule.match.kind, ctx);
  });

let described: Record<KindName, KindDescription> | undefined;

/** True when `field` is a number in `kind`'s telemetry schema (not a boolean or a text). */
function numericField(kind: KindName, field: string): boolean {
  described ??= describeKinds();
  return described[kind].telemetry[field]?.type === 'number';
}

/** Refuses a telemetry field or event type that none of the rule's kinds has (a typo would never fire). */
function checkNames(when: When, kinds: KindName[] | undefined, ctx: z.core.$RefinementCtx): void {
  const covered = kinds ?? [...KIND_NAMES];
  for (const ref of referencedNames(when)) {
    const field = (k: KindName, f: string) => KINDS[k].fields.includes(f) && (!ref.numeric || numericField(k, f));
    const has = (k: KindName) => (ref.what === 'telemetry' ? field(k, ref.name) : ref.name in KINDS[k].events);
    if (covered.some(has)) continue;
    const which = kinds ? ` of ${kinds.join(', ')}` : '';
    const fields = (k: KindName) => KINDS[k].fields.filter((f) => field(k, f));
    const known = [...new Set(covered.flatMap((k) => (ref.what === 'telemetry' ? fields(k) : Object.keys(KINDS[k].events))))];
    const noun = ref.what === 'event' ? 'an event type' : ref.numeric ? 'a numeric telemetry field' : 'a telemetry field';
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(ref.name)} is not ${noun}${which} (${known.join(', ')})`, path: ['when', ...ref.path] });
  }
}

/** A validated, normalised rule (durations in ms, templates compiled, `when` tagged by form). */
export interface Rule {
  id: string;
  /** In every language (one falls back on the other when the rule gives only one). */
  description?: LocalisedText;
  enabled: boolean;
  match: Match;
  when: When;
  alarm?: { type: string; severity: RuleSeverity; message?: LocalisedTemplate; instructions?: LocalisedText; escalate?: { after: number; to: RuleSeverity } };
  workOrder?: { category: string; priority: RulePriority; title?: LocalisedTemplate };
  commands?: Array<{ match: CommandMatch; action: string; params?: Record<string, unknown> }>;
  autoClear: boolean;
}

// A compile-time check that the interface above is what the schema produces.
const _sameShape: (r: z.output<typeof RuleSchema>) => Rule = (r) => r;
void _sameShape;

/**
 * The issues of a union where only one of its forms fits the value (the others fail on its type at their root):
 * those, so the problem names the field inside it (`alarm.message.en`). Otherwise the union's own issue.
 */
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const fitting = issue.errors.filter((branch) => branch.some((i) => !(i.code === 'invalid_type' && i.path.length === 0)));
  if (fitting.length !== 1) return [issue];
  return fitting[0].flatMap((i) => unwrapUnion({ ...i, path: [...issue.path, ...i.path] }));
}

/** Where one problem is: `rules/fire.yaml: rule "smoke-high": when.for: ...`. */
export function describeIssue(file: string, rule: string, issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'invalid_union') {
    const inner = unwrapUnion(issue);
    if (inner[0] !== issue) return inner.flatMap((i) => describeIssue(file, rule, i));
  }
  const at = (path: PropertyKey[]) => path.map(String).join('.');
  const where = `${file}: ${rule}`;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${where}: ${at([...issue.path, k])}: unknown field`);
  }
  const path = at(issue.path);
  const message = issue.message.replace(/^Invalid input: /, '');
  return [path ? `${where}: ${path}: ${message}` : `${where}: ${message}`];
}

/** How a problem names a rule: by its id when it has one, else by its place in the file (from 1). */
export function ruleLabel(raw: unknown, index: number): string {
  const id = raw !== null && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id ? `rule ${JSON.stringify(id)}` : `rule #${index + 1}`;
}

/** Validates one rule; answers it or the problems, each naming `file`, the rule and the field. */
export function parseRule(raw: unknown, file: string, index: number): { ok: true; rule: Rule } | { ok: false; errors: string[] } {
  // YAML's `.inf` and a JSON `1e400` are numbers to the parsers; no threshold or parameter can be one.
  const infinite = firstNonFinite(raw);
  if (infinite !== undefined) return { ok: false, errors: [`${file}: ${ruleLabel(raw, index)}: ${notFinite(infinite)}`] };
  const r = RuleSchema.safeParse(raw);
  if (r.success) return { ok: true, rule: r.data };
  const label = ruleLabel(raw, index);
  return { ok: false, errors: r.error.issues.flatMap((i) => describeIssue(file, label, i)) };
}
