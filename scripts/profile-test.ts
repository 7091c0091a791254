/**
 * `npm run profile:test -- FILE SAMPLE [--profile ID]`: tries a device profile on a sample before a device is
 * registered with it (docs/integrators.md, "Trying a profile").
 *
 * FILE is a profile file (a YAML or JSON list). It is validated as the gateway validates it; every problem is
 * printed naming the file, the profile and the field (exit 2). The profile tried is the file's only one, or
 * `--profile ID`. SAMPLE is JSON: for an MQTT profile, `{ "topic"?: "...", "payload": {...} }` or the bare
 * payload; for a Modbus profile, a register dump `{ "registers": { "holding": { "0": 1234 }, "input": {...},
 * "coil": { "0": true }, "discrete": {...} } }` (addresses 0-based, register words 0..65535, bits true/false).
 * The sample is mapped with the gateway's own code (src/profiles/mapping.ts, src/modbus/codec.ts) and the
 * result printed as JSON on standard output: the telemetry and events stored, or the refusal reason as the
 * gateway writes it on the rejected topic (exit 1), and the vendor keys (or registers) no mapping reads.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { resolveTs } from '../src/ingest/timestamp.js';
import { CodecError, decodeRegisters, extractBit } from '../src/modbus/codec.js';
import { parseProfileFile, type LoadedProfile } from '../src/profiles/loader.js';
import { deviceFrom, mapModbusValues, mapMqtt, newEdgeState, type MapResult } from '../src/profiles/mapping.js';
import type { ModbusProfile, MqttProfile } from '../src/profiles/profile.js';
import { matchTopic } from '../src/profiles/topic.js';
import type { PathStep } from '../src/profiles/path.js';

const USAGE = 'usage: npm run profile:test -- FILE SAMPLE [--profile ID]';

/** A problem with the input (the file, the sample, the options): printed, exit 2. */
class InputError extends Error {}

type Output = Record<string, unknown>;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${USAGE}`);
  }
  const [file, samplePath] = args.positionals;
  if (!file || !samplePath || args.positionals.length > 2) throw new InputError(USAGE);

  const parsed = parseProfileFile(file, await readText(file));
  if (parsed.errors.length > 0) {
    for (const e of parsed.errors) console.error(e);
    return 2;
  }
  const { profile } = pick(file, parsed.profiles, args.values.profile);
  const sample = parseJson(samplePath, await readText(samplePath));
  const out = profile.source === 'mqtt' ? tryMqtt(profile, sample, samplePath) : tryModbus(profile, sample, samplePath);
  console.log(JSON.stringify({ profile: profile.id, kind: profile.kind, source: profile.source, ...out }, null, 2));
  return out.refused === undefined ? 0 : 1;
}

function parse() {
  return parseArgs({ allowPositionals: true, options: { profile: { type: 'string' } } });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`);
  }
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InputError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
}

function pick(file: string, profiles: LoadedProfile[], id: string | undefined): LoadedProfile {
  const ids = profiles.map((p) => p.profile.id).join(', ');
  if (id !== undefined) {
    const found = profiles.find((p) => p.profile.id === id);
    if (!found) throw new InputError(`${file}: --profile: no profile ${JSON.stringify(id)} (${ids || 'the file holds none'})`);
    return found;
  }
  if (profiles.length === 1) return profiles[0];
  throw new InputError(`${file}: ${profiles.length === 0 ? 'holds no profile' : `holds ${profiles.length} profiles (${ids}): name one with --profile`}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys a sample file may carry besides `payload` (the shipped samples also say where they come from). */
const ENVELOPE_KEYS = new Set(['topic', 'payload', 'source', 'expected']);

/** An MQTT sample: the topic (when given) and the payload. */
function mqttSample(sample: unknown, path: string): { topic?: string; payload: unknown } {
  if (isObject(sample) && Object.hasOwn(sample, 'payload') && Object.keys(sample).every((k) => ENVELOPE_KEYS.has(k))) {
    if (sample.topic !== undefined && typeof sample.topic !== 'string') throw new InputError(`${path}: topic: must be text`);
    return { topic: sample.topic, payload: sample.payload };
  }
  return { payload: sample };
}

function tryMqtt(profile: MqttProfile, sample: unknown, path: string): Output {
  const { topic, payload } = mqttSample(sample, path);
  const out: Output = {};
  if (topic !== undefined) {
    const name = profile.topics.map((t) => matchTopic(t, topic)).find((n) => n !== undefined);
    if (name === undefined) {
      const topics = profile.topics.map((t) => t.text).join(', ');
      return { topic, refused: `topic ${topic} is none of the profile's topics (${topics}): the broker refuses the publish and closes the connection` };
    }
    out.topic = topic;
    // The device the message is for: named by the topic, else by the payload (`deviceFrom`).
    const device = name !== '' ? name : deviceFrom(profile, payload);
    if (device !== undefined) out.device = device;
  }
  const receivedAt = Date.now();
  const result = mapMqtt(profile, payload, receivedAt, newEdgeState());
  const named = [...profile.telemetry.map((f) => f.path), ...profile.events.flatMap((e) => [e.path, ...e.details.flatMap((d) => d.path ?? [])])];
  if (profile.ts) named.push(profile.ts.path);
  if (profile.deviceFrom) named.push(profile.deviceFrom.path);
  return { ...out, ...outcome(result, receivedAt), unmapped: unnamedKeys(payload, named.map((p) => p.steps)) };
}

/** The mapped message as it would be stored, or the refusal; the time limits are ingest's, as for a native `ts`. */
function outcome(result: MapResult, receivedAt: number): Output {
  if (!result.ok) return { refused: result.reason };
  for (const ts of [result.ts, ...result.events.map((e) => e.ts)]) {
    const checked = resolveTs(ts, receivedAt);
    if (!checked.ok) return { refused: checked.reason };
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ts: result.ts === receivedAt ? 'receive time' : iso(result.ts),
    telemetry: result.telemetry ?? null,
    // A fresh device: an `edge: true` event fires when its value matches, as on a device's first message.
    events: result.events.map((e) => ({ type: e.type, ...e.details })),
  };
}

/**
 * The payload's keys that no path of the profile reads, each as the shortest path holding nothing read
 * (`$.rxInfo` rather than every key inside it).
 */
function unnamedKeys(payload: unknown, named: ReadonlyArray<readonly PathStep[]>): string[] {
  const out: string[] = [];
  const walk = (node: unknown, at: PathStep[]) => {
    const under = named.filter((p) => at.every((s, i) => p[i] === s));
    if (under.some((p) => p.length <= at.length)) return; // read here, or read whole by an ancestor
    if (under.length === 0) {
      out.push(pathText(at));
      return;
    }
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, [...at, i]));
    else if (isObject(node)) for (const [k, v] of Object.entries(node)) walk(v, [...at, k]);
  };
  walk(payload, []);
  return out;
}

function pathText(steps: readonly PathStep[]): string {
  return `$${steps.map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z0-9_-]+$/.test(s) ? `.${s}` : `['${s.replace(/[\\']/g, '\\$&')}']`)).join('')}`;
}

const TABLES = ['holding', 'input', 'coil', 'discrete'] as const;
type Dump = Record<(typeof TABLES)[number], Map<number, number | boolean>>;

/** The register dump of a sample, checked: addresses 0..65535, words 0..65535, bits true/false (or 1/0). */
function registerDump(sample: unknown, path: string): Dump {
  const registers = isObject(sample) ? sample.registers : undefined;
  if (!isObject(registers)) throw new InputError(`${path}: a Modbus profile takes a register dump: { "registers": { "holding": { "0": 1234 }, "coil": { "0": true } } }`);
  const dump = Object.fromEntries(TABLES.map((t) => [t, new Map()])) as Dump;
  for (const [table, entries] of Object.entries(registers)) {
    if (!(TABLES as readonly string[]).includes(table)) throw new InputError(`${path}: registers.${table}: not a table (${TABLES.join(', ')})`);
    if (!isObject(entries)) throw new InputError(`${path}: registers.${table}: expected { "address": value, ... }`);
    const bits = table === 'coil' || table === 'discrete';
    for (const [key, value] of Object.entries(entries)) {
      const at = `${path}: registers.${table}.${key}`;
      const address = Number(key);
      if (!/^\d{1,5}$/.test(key) || address > 65535) throw new InputError(`${at}: an address is 0..65535`);
      if (bits) {
        if (typeof value !== 'boolean' && value !== 0 && value !== 1) throw new InputError(`${at}: a ${table} is true or false`);
        dump[table as 'coil'].set(address, value === true || value === 1);
      } else {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw new InputError(`${at}: a register word is 0..65535`);
        dump[table as 'holding'].set(address, value);
      }
    }
  }
  return dump;
}

function tryModbus(profile: ModbusProfile, sample: unknown, path: string): Output {
  const dump = registerDump(sample, path);
  const values = new Map<string, number | boolean>();
  const missing: string[] = [];
  const read = new Set<string>();
  for (const point of profile.points) {
    const name = point.key.startsWith('events[') ? point.key : `telemetry.${point.key}`;
    const where = `${point.table} ${point.address}${point.words > 1 ? `..${point.address + point.words - 1}` : ''}`;
    const addresses = Array.from({ length: point.words }, (_, i) => point.address + i);
    addresses.forEach((a) => read.add(`${point.table} ${a}`));
    const table = dump[point.table];
    if (!addresses.every((a) => table.has(a))) {
      missing.push(`${name} (${where})`);
      continue;
    }
    if (point.table === 'coil' || point.table === 'discrete') {
      values.set(point.key, table.get(point.address) as boolean);
      continue;
    }
    const words = addresses.map((a) => table.get(a) as number);
    // The order the gateway's poller is given (src/polling.ts): the field's own `order`, else the profile's `byteOrder`.
    try {
      values.set(point.key, point.bit !== undefined ? extractBit(words, point.bit, point.order) : decodeRegisters(words, point.type, point.order));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      return { refused: `${name} (${where}): ${err.message}` };
    }
  }
  const receivedAt = Date.now();
  const unmapped = TABLES.flatMap((t) => [...dump[t].keys()].sort((a, b) => a - b).map((a) => `${t} ${a}`)).filter((r) => !read.has(r));
  return { ...outcome(mapModbusValues(profile, values, receivedAt, newEdgeState()), receivedAt), notInSample: missing, unmapped };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (!(err instanceof InputError)) throw err;
    console.error(err.message);
    process.exitCode = 2;
  },
);
