/**
 * A device profile as a profile file writes it (contract §10), validated and compiled: structure by zod, then
 * what the kind allows. Every problem names the file, the profile and the field path, as the rule loader's do:
 * `profiles/acme.yaml: profile "acme-lift-ld200": telemetry.loadPct.scale: expected a number`.
 */
import type { z } from 'zod';
import { firstNonFinite, notFinite } from '../finite.js';
import type { Profile } from './profile.js';
import type { ProfileIssue } from './schema-kind.js';
import { compileModbusProfile, ModbusProfileSchema } from './schema-modbus.js';
import { compileMqttProfile, MqttProfileSchema } from './schema-mqtt.js';

export * from './profile.js';
export { PROFILE_ID_RE, type Scalar } from './schema-parts.js';
export { MqttProfileSchema, ModbusProfileSchema };

export const PROFILE_SOURCES = ['mqtt', 'modbus'] as const;

export interface ParseOptions {
  /** The gateway's topic base (`sc`): no profile topic may be under it. */
  topicBase: string;
}

export type ParsedProfile = { ok: true; profile: Profile } | { ok: false; errors: string[] };

/** How a problem names a profile: by its id when it has one, else by its place in the file (from 1). */
export function profileLabel(raw: unknown, index: number): string {
  const id = raw !== null && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id ? `profile ${JSON.stringify(id)}` : `profile #${index + 1}`;
}

const at = (path: readonly PropertyKey[]) => path.map(String).join('.');

/** The problems of one zod issue, each as `file: profile "id": path: message`. */
function describeZodIssue(where: string, issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${where}: ${at([...issue.path, k])}: unknown field`);
  const message = issue.message.replace(/^Invalid input: /, '');
  const path = at(issue.path);
  return [path ? `${where}: ${path}: ${message}` : `${where}: ${message}`];
}

function describeIssue(where: string, issue: ProfileIssue): string {
  const path = at(issue.path);
  return path ? `${where}: ${path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Validates and compiles one profile; answers it or the problems, each naming `file`, the profile and the field. */
export function parseProfile(raw: unknown, file: string, index: number, opts: ParseOptions): ParsedProfile {
  const where = `${file}: ${profileLabel(raw, index)}`;
  // YAML's `.inf` and a JSON `1e400` are numbers to the parsers; no scale, offset or threshold can be one.
  const infinite = firstNonFinite(raw);
  if (infinite !== undefined) return { ok: false, errors: [`${where}: ${notFinite(infinite)}`] };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, errors: [`${where}: expected a profile (a mapping with id, kind and source)`] };
  const source = (raw as { source?: unknown }).source;
  if (source === 'mqtt') {
    const r = MqttProfileSchema.safeParse(raw);
    if (!r.success) return { ok: false, errors: r.error.issues.flatMap((i) => describeZodIssue(where, i)) };
    const c = compileMqttProfile(r.data, opts.topicBase);
    return c.ok ? c : { ok: false, errors: c.issues.map((i) => describeIssue(where, i)) };
  }
  if (source === 'modbus') {
    const r = ModbusProfileSchema.safeParse(raw);
    if (!r.success) return { ok: false, errors: r.error.issues.flatMap((i) => describeZodIssue(where, i)) };
    const c = compileModbusProfile(r.data);
    return c.ok ? c : { ok: false, errors: c.issues.map((i) => describeIssue(where, i)) };
  }
  return { ok: false, errors: [`${where}: source: must be one of ${PROFILE_SOURCES.join(', ')}`] };
}
