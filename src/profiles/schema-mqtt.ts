/** A profile of `source: mqtt` (contract §10): the device publishes its own JSON to the gateway's broker. */
import { z } from 'zod';
import type { KindName } from '../devices/kinds/index.js';
import { KindSchema } from '../rules/schema-parts.js';
import type { CompiledPath } from './path.js';
import { TS_FORMATS, type MqttCommand, type MqttEventDetail, type MqttEventMapping, type MqttFieldMapping, type MqttProfile } from './profile.js';
import { checkEventMapping, checkFieldMapping, fits, kindDescriptions, type ProfileIssue } from './schema-kind.js';
import {
  ACTION_RE,
  compileMatcher,
  matcherProblem,
  MatcherShape,
  NumberSchema,
  PathSchema,
  ProfileIdSchema,
  ScalarSchema,
  ScaleSchema,
  ValueMapSchema,
  type Scalar,
} from './schema-parts.js';
import { compilePayload, paramsUsed } from './template.js';
import { compileTopic, type CompiledTopic } from './topic.js';

const TextSchema = z.string({ error: 'must be text' }).min(1, 'must not be empty');

const FieldSchema = z.strictObject({
  path: PathSchema,
  scale: ScaleSchema.optional(),
  offset: NumberSchema.optional(),
  map: ValueMapSchema.optional(),
});

/** A detail: a path (`"$.data.floor"`), a path with a `map` (a vendor's code to the kind's value), or a constant `value`. */
const DetailSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { path: v } : v),
  z.strictObject(
    { path: PathSchema.optional(), map: ValueMapSchema.optional(), value: ScalarSchema.optional() },
    { error: 'expected a path, { path, map } or { value }' },
  ),
);

const EventSchema = z.strictObject({
  type: TextSchema,
  path: PathSchema,
  ...MatcherShape,
  details: z.record(z.string(), DetailSchema, { error: 'expected a mapping of detail names to paths' }).optional(),
});

const CommandSchema = z.strictObject({
  topic: TextSchema,
  // Any JSON: an object or list is sent as JSON, text as it is (contract §10 `payload`).
  payload: z.unknown().refine((v) => v !== undefined && v !== null, 'required: the payload to send'),
});

export const MqttProfileSchema = z.strictObject({
  id: ProfileIdSchema,
  kind: KindSchema,
  source: z.literal('mqtt'),
  description: z.string({ error: 'must be text' }).optional(),
  topics: z.array(TextSchema, { error: 'expected a list of topics' }).min(1, 'must not be empty'),
  ts: z.strictObject({ path: PathSchema, format: z.enum(TS_FORMATS, { error: `must be one of ${TS_FORMATS.join(', ')}` }) }).optional(),
  telemetry: z.record(z.string(), FieldSchema, { error: 'expected a mapping of field names to mappings' }).default({}),
  events: z.array(EventSchema, { error: 'expected a list of event mappings' }).default([]),
  commands: z.record(z.string(), CommandSchema, { error: 'expected a mapping of actions to commands' }).default({}),
  deviceFrom: z.strictObject({ path: PathSchema }).optional(),
});
type Parsed = z.output<typeof MqttProfileSchema>;

/** Compiles the topics a device publishes on; `{device}` names the device unless the payload does (`deviceFrom`). */
function topics(p: Parsed, base: string, issues: ProfileIssue[]): CompiledTopic[] {
  const out: CompiledTopic[] = [];
  p.topics.forEach((text, i) => {
    const c = compileTopic(text, { base, params: false });
    if (!c.ok) issues.push({ path: ['topics', i], message: c.error });
    else if (!c.topic.hasDevice && !p.deviceFrom) issues.push({ path: ['topics', i], message: `${JSON.stringify(text)}: must contain {device} (or the profile names the device with deviceFrom)` });
    else out.push(c.topic);
  });
  return out;
}

function commands(p: Parsed, base: string, issues: ProfileIssue[]): Map<string, MqttCommand> {
  const out = new Map<string, MqttCommand>();
  for (const [action, cmd] of Object.entries(p.commands)) {
    if (!ACTION_RE.test(action)) issues.push({ path: ['commands', action], message: 'an action is 1 to 64 letters, digits, _ or -' });
    const topic = compileTopic(cmd.topic, { base, params: true });
    const payload = compilePayload(cmd.payload);
    if (!topic.ok) issues.push({ path: ['commands', action, 'topic'], message: topic.error });
    else if (!topic.topic.hasDevice && !p.deviceFrom) issues.push({ path: ['commands', action, 'topic'], message: `${JSON.stringify(cmd.topic)}: must contain {device}` });
    if ('error' in payload) issues.push({ path: ['commands', action, 'payload', ...payload.path], message: payload.error });
    if (topic.ok && 'node' in payload) out.set(action, { action, topic: topic.topic, payload: payload.node, params: paramsUsed(payload.node, topic.topic) });
  }
  return out;
}

function telemetry(p: Parsed, kind: KindName, issues: ProfileIssue[]): MqttFieldMapping[] {
  const out: MqttFieldMapping[] = [];
  for (const [name, f] of Object.entries(p.telemetry)) {
    const def = checkFieldMapping(kind, name, f, 'any', ['telemetry', name], issues);
    if (def) out.push({ name, path: f.path, scale: f.scale, offset: f.offset, map: f.map, def });
  }
  return out;
}

type DetailFields = { path?: CompiledPath; map?: ReadonlyMap<string, Scalar>; value?: Scalar };

/** Checks a detail's form and that a constant or mapped value fits the kind's detail. */
function detail(kind: KindName, type: string, name: string, d: DetailFields, at: PropertyKey[], issues: ProfileIssue[]): MqttEventDetail {
  if ((d.path === undefined) === (d.value === undefined)) issues.push({ path: at, message: 'needs one of path or value' });
  if (d.map && d.path === undefined) issues.push({ path: [...at, 'map'], message: 'map applies to a path' });
  const events = kindDescriptions()[kind].events;
  const def = Object.hasOwn(events, type) && Object.hasOwn(events[type].details, name) ? events[type].details[name] : undefined;
  if (def) {
    const given: Array<[PropertyKey[], Scalar]> = d.value !== undefined ? [[[...at, 'value'], d.value]] : [...(d.map ?? [])].map(([k, v]) => [[...at, 'map', k], v]);
    for (const [path, v] of given) if (!fits(def, v)) issues.push({ path, message: `${JSON.stringify(v)} can never be the detail ${name} of ${type}` });
  }
  return { name, path: d.path, map: d.map, value: d.value };
}

function events(p: Parsed, kind: KindName, issues: ProfileIssue[]): MqttEventMapping[] {
  return p.events.map((e, i) => {
    const problem = matcherProblem(e);
    if (problem) issues.push({ path: problem.key ? ['events', i, problem.key] : ['events', i], message: problem.message });
    const names = Object.keys(e.details ?? {});
    checkEventMapping(kind, e.type, names, ['events', i], issues);
    const details = Object.entries(e.details ?? {}).map(([name, d]) => detail(kind, e.type, name, d, ['events', i, 'details', name], issues));
    return { type: e.type, path: e.path, matches: compileMatcher(e), edge: e.edge, details };
  });
}

/** Checks a structurally valid MQTT profile against its kind and compiles it. */
export function compileMqttProfile(p: Parsed, base: string): { ok: true; profile: MqttProfile } | { ok: false; issues: ProfileIssue[] } {
  const issues: ProfileIssue[] = [];
  const profile: MqttProfile = {
    id: p.id,
    kind: p.kind,
    description: p.description,
    source: 'mqtt',
    topics: topics(p, base, issues),
    ts: p.ts,
    telemetry: telemetry(p, p.kind, issues),
    events: events(p, p.kind, issues),
    commands: commands(p, base, issues),
    deviceFrom: p.deviceFrom,
  };
  if (Object.keys(p.telemetry).length === 0 && p.events.length === 0) issues.push({ path: [], message: 'maps no telemetry and no events' });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, profile };
}
