/**
 * What a rule does on an edge of its condition, through the injected RuleActions (house style §2):
 * holds → raise the alarm, then (when newly raised) open the work order and send the commands; stops
 * holding → clear the alarm unless `autoClear: false`. Each action fails alone, reported with the rule.
 */
import type { Severity } from '../alarms/model.js';
import { LIFE_SAFETY_EVENTS } from '../devices/kinds/index.js';
import type { FailureContext, FailureStage } from '../failures.js';
import type { Priority } from '../workorders/model.js';
import type { RuleActions } from './actions.js';
import type { Change } from './conditions/types.js';
import { devicesMatching, resolveCommandMatch } from './match.js';
import type { LocalisedTemplate, Rule, RulePriority, RuleSeverity } from './schema.js';
import { render, templateVars, type TemplateVars } from './template.js';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from '../shared/language.js';

// rules/schema is a leaf and repeats the severity and priority names: fail to compile if they drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const SAME_SEVERITIES: Same<RuleSeverity, Severity> = true;
const SAME_PRIORITIES: Same<RulePriority, Priority> = true;
void SAME_SEVERITIES;
void SAME_PRIORITIES;

/** Where a failed action is counted and logged (Failures.report in the gateway). */
export type ActionFailed = (stage: FailureStage, err: unknown, context: FailureContext) => void;

/** The stage a failed action is counted under in `gateway_message_failures_total`. */
const STAGE_OF: Record<string, FailureStage> = {
  raiseAlarm: 'alarms',
  clearAlarm: 'alarms',
  updateAlarm: 'alarms',
  openWorkOrder: 'workorders',
  devices: 'commands',
  sendCommand: 'commands',
};

/** A rule raised by one of its kind's life-safety events (§11): its alarm is critical at once and never held back. */
function lifeSafetyRule(rule: Rule, kind: string | undefined): boolean {
  const when = rule.when;
  return when.form === 'event' && kind !== undefined && LIFE_SAFETY_EVENTS.some((e) => e.kind === kind && e.type === when.event);
}

/** Runs `rule`'s actions for one edge of its condition. */
export function applyChange(rule: Rule, change: Change, actions: RuleActions, log: ActionFailed): void {
  const vars = templateVars(rule.id, change);
  if (change.holds && change.update) {
    // contract §13: a forecast's eta moved while it holds: the open alarm says so, nothing is raised again.
    if (!rule.alarm || !actions.updateAlarm) return;
    const key = { site: change.source.site, type: rule.alarm.type, source: change.source.id };
    attempt(log, rule, change, 'updateAlarm', () => actions.updateAlarm!(key, { value: change.value, ...alarmDetail(change) }, rule.id));
  } else if (change.holds) onHolds(rule, change, vars, actions, log);
  else if (rule.alarm && rule.autoClear) {
    const key = { site: change.source.site, type: rule.alarm.type, source: change.source.id };
    attempt(log, rule, change, 'clearAlarm', () => actions.clearAlarm(key, rule.id));
  }
}

/** What a forecast (eta as ISO time) or an anomaly (expected, z) adds to the alarm (contract §13). */
function alarmDetail(change: Change): { eta?: string; expected?: number; z?: number; late?: true; due?: string } {
  const d = change.detail;
  if (!d) return {};
  return {
    ...(d.eta !== undefined && { eta: new Date(d.eta).toISOString() }),
    ...(d.expected !== undefined && { expected: d.expected }),
    ...(d.z !== undefined && { z: d.z }),
    ...lateness(change),
  };
}

/** contract §15: a schedule's firing made at start for one missed while the gateway was down is late, and says when it was due. */
function lateness(change: Change): { late?: true; due?: string } {
  const due = change.detail?.due;
  return due === undefined ? {} : { late: true, due: new Date(due).toISOString() };
}

/** A template rendered in every language with the same values, `{place}` in each language's words. */
function renderAll(t: LocalisedTemplate, vars: TemplateVars, change: Change, actions: RuleActions): Record<Language, string> {
  const { site, zone } = change.source;
  const inWords = (l: Language) => ({ ...vars, place: actions.placeText?.(site, zone, l) ?? vars.place });
  return Object.fromEntries(LANGUAGES.map((l) => [l, render(t[l], inWords(l))])) as Record<Language, string>;
}

/** What an alarm of a rule without `message` says. */
function defaultMessages(type: string, source: string): Record<Language, string> {
  return { 'zh-CN': `${type}（${source}）`, en: `${type} at ${source}` };
}

function onHolds(rule: Rule, change: Change, vars: TemplateVars, actions: RuleActions, log: ActionFailed): void {
  let alarm: { id: string; raised: boolean } | undefined;
  let messages: Record<Language, string> | undefined;
  if (rule.alarm) {
    const a = rule.alarm;
    const s = change.source;
    messages = a.message ? renderAll(a.message, vars, change, actions) : defaultMessages(a.type, s.id);
    const req = {
      site: s.site,
      type: a.type,
      severity: a.severity,
      source: s.id,
      device: s.device,
      kind: s.kind,
      zone: s.zone,
      rule: rule.id,
      // The alarm service answers `message` in the site's language; this one is for a service without sites.
      message: messages[DEFAULT_LANGUAGE],
      messages,
      value: change.value,
      ...alarmDetail(change),
      escalate: a.escalate ? { afterMs: a.escalate.after, to: a.escalate.to } : undefined,
      at: change.at,
      ...(lifeSafetyRule(rule, s.kind) && { lifeSafety: true }),
      ...(rule.when.form === 'absent' && { suppressible: { afterMs: rule.when.absentMs } }),
    };
    alarm = attempt(log, rule, change, 'raiseAlarm', () => actions.raiseAlarm(req));
    // A bump of an alarm already open (contract §4) opens no second work order and repeats no command.
    if (!alarm?.raised) return;
  }
  if (rule.workOrder) openWorkOrder(rule, change, vars, alarm?.id, messages, actions, log);
  for (const cmd of rule.commands ?? []) {
    const targets = attempt(log, rule, change, 'devices', () => devicesMatching(resolveCommandMatch(cmd.match, vars), actions.devices())) ?? [];
    for (const device of targets) attempt(log, rule, change, 'sendCommand', () => actions.sendCommand(device, cmd.action, cmd.params, rule.id));
  }
}

function openWorkOrder(
  rule: Rule,
  change: Change,
  vars: TemplateVars,
  alarm: string | undefined,
  messages: Record<Language, string> | undefined,
  actions: RuleActions,
  log: ActionFailed,
): void {
  const w = rule.workOrder!;
  const s = change.source;
  // The work order service answers `title` in the site's language from these.
  const title = w.title ? renderAll(w.title, vars, change, actions) : (messages ?? rule.description ?? rule.id);
  attempt(log, rule, change, 'openWorkOrder', () =>
    actions.openWorkOrder({
      site: s.site,
      title,
      category: w.category,
      priority: w.priority,
      description: rule.description,
      alarm,
      device: s.device,
      zone: s.zone,
      rule: rule.id,
      ...(change.detail?.due !== undefined && { due: lateness(change).due }),
      by: `rule:${rule.id}`,
    }),
  );
}

/** Runs one action; a failure is reported with the rule and leaves the other actions and rules going. */
function attempt<T>(failed: ActionFailed, rule: Rule, change: Change, action: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    const s = change.source;
    failed(STAGE_OF[action] ?? 'rules', err, { site: s.site, kind: s.kind, device: s.device, rule: rule.id, action });
    return undefined;
  }
}
