import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ALARM_STATES, SEVERITIES } from '../../../src/alarms/model.js';
import { EnvSchema } from '../../../src/config/env.js';
import { KIND_NAMES, KINDS, type KindName } from '../../../src/devices/kinds/index.js';
import { alarmLine, eventLine, telemetryLine } from '../../../src/storage/influx/points.js';
import {
  BUILT_IN_VARIABLES,
  GRAFANA_DIR,
  loadDashboards,
  loadDataSources,
  NUMERIC_FUNCTIONS,
  regexAlternatives,
  shapeOf,
  targetsOf,
  variablesUsed,
  type Dashboard,
} from '../../helpers/grafana.js';

type FieldType = 'number' | 'integer' | 'boolean' | 'string';
interface Measurement {
  tags: Set<string>;
  fields: Map<string, FieldType>;
}

/** Tag keys and field types of one line of line protocol as points.ts writes it (no escaped characters). */
function parseLine(line: string): { measurement: string; tags: string[]; fields: Map<string, FieldType> } {
  const [series, fieldText] = line.split(' ');
  const [measurement, ...tags] = series.split(',');
  const fields = new Map<string, FieldType>();
  for (const pair of fieldText.split(',')) {
    const [key, value] = pair.split('=');
    const type: FieldType = value.startsWith('"')
      ? 'string'
      : value === 'true' || value === 'false'
        ? 'boolean'
        : value.endsWith('i')
          ? 'integer'
          : 'number';
    fields.set(key, type);
  }
  return { measurement, tags: tags.map((t) => t.split('=')[0]), fields };
}

/** What a zod field is stored as: numbers as floats, booleans as booleans, everything else as a string. */
function storedType(schema: z.ZodType): FieldType {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  if (inner instanceof z.ZodNumber) return 'number';
  if (inner instanceof z.ZodBoolean) return 'boolean';
  return 'string';
}

const shapeOfSchema = (schema: z.ZodType) => (schema as unknown as { shape: Record<string, z.ZodType> }).shape;

/** Event details a kind's event schemas allow, with their stored types (type and ts are not fields). */
function eventDetails(kind: KindName): Map<string, FieldType> {
  const out = new Map<string, FieldType>();
  for (const schema of Object.values(KINDS[kind].events)) {
    for (const [key, field] of Object.entries(shapeOfSchema(schema))) {
      if (key !== 'type' && key !== 'ts') out.set(key, storedType(field));
    }
  }
  return out;
}

/**
 * Contract §7 as the code writes it: the tags come from the line builders in points.ts, the fields from the
 * kinds registry (telemetry), the event schemas plus `count` (events) and alarmLine (alarms).
 */
function layout(): Map<string, Measurement> {
  const out = new Map<string, Measurement>();
  for (const kind of KIND_NAMES) {
    const shape = shapeOfSchema(KINDS[kind].telemetry);
    const line = parseLine(telemetryLine(kind, 's', 'd', 'z', { x: 1 }, 0));
    expect(line.measurement).toBe(kind);
    const fields = new Map(KINDS[kind].fields.map((f) => [f, storedType(shape[f])] as const));
    out.set(kind, { tags: new Set(line.tags), fields });
  }
  const event = parseLine(eventLine('s', 'fire', 'd', 'z', 't', {}, 0));
  const eventFields = new Map<string, FieldType>(event.fields);
  for (const kind of KIND_NAMES) for (const [k, t] of eventDetails(kind)) eventFields.set(k, t);
  out.set(event.measurement, { tags: new Set(event.tags), fields: eventFields });
  const alarm = parseLine(alarmLine('s', 't', 'major', 'src', { state: 'active', id: 'a', value: 1 }, 0));
  out.set(alarm.measurement, { tags: new Set(alarm.tags), fields: alarm.fields });
  return out;
}

const LAYOUT = layout();
const DASHBOARDS = loadDashboards();
const DATA_SOURCES = loadDataSources();
const DASHBOARD_NAMES = [...KIND_NAMES, 'alarms'] as const;
/** The measurement a dashboard's variables read: the kind, or `alarms`. */
const ownMeasurement = (name: string) => name;

describe('grafana provisioning', () => {
  it('provisions one InfluxQL data source on the compose InfluxDB and the gateway default database', () => {
    expect(DATA_SOURCES).toHaveLength(1);
    const [ds] = DATA_SOURCES;
    expect(ds.type).toBe('influxdb');
    expect(ds.url).toBe('http://influxdb:8086');
    expect(ds.jsonData.dbName).toBe(EnvSchema.parse({}).INFLUX_DB);
    expect(ds.uid).toMatch(/^[\w-]{1,40}$/);
  });

  it('loads the dashboards from the folder docker-compose.yml mounts the dashboard files on', () => {
    const provider = parse(readFileSync(`${GRAFANA_DIR}provisioning/dashboards/dashboards.yaml`, 'utf8')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    const compose = parse(readFileSync(new URL('../../../docker-compose.yml', import.meta.url), 'utf8')) as {
      services: { grafana: { volumes: string[] } };
    };
    const mounts = new Map(compose.services.grafana.volumes.map((v) => [v.split(':')[0], v.split(':')[1]]));
    expect(provider.providers).toHaveLength(1);
    expect(provider.providers[0].type).toBe('file');
    expect(mounts.get('./grafana/dashboards')).toBe(provider.providers[0].options.path);
    expect(mounts.get('./grafana/provisioning')).toBe('/etc/grafana/provisioning');
  });

  it('has a dashboard for every device kind and one for alarms, with distinct uids', () => {
    for (const name of DASHBOARD_NAMES) expect(DASHBOARDS.has(name), `${name}.json`).toBe(true);
    const uids = [...DASHBOARDS.values()].map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });
});

describe.each([...DASHBOARD_NAMES])('dashboard %s', (name) => {
  const dashboard = DASHBOARDS.get(name) as Dashboard;
  const queries = targetsOf(dashboard);
  const defined = dashboard.templating.list.map((v) => v.name);

  it('names only the provisioned data source', () => {
    const refs: unknown[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          // The built-in annotation query is Grafana's own, not InfluxDB.
          if (key === 'annotations') continue;
          if (key === 'datasource') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(dashboard);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toStrictEqual({ type: 'influxdb', uid: DATA_SOURCES[0].uid });
  });

  it('has panels with distinct ids, each with at least one raw InfluxQL query', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) expect(t.rawQuery, `${panel.title} ${t.refId}`).toBe(true);
    }
  });

  it('defines its variables with SHOW TAG VALUES of a tag of its own measurement, each from earlier ones only', () => {
    const measurement = LAYOUT.get(ownMeasurement(name))!;
    for (const [i, v] of dashboard.templating.list.entries()) {
      expect(v.type).toBe('query');
      const m = /^SHOW TAG VALUES FROM "(\w+)" WITH KEY = "(\w+)"(?: WHERE (.+))?$/.exec(v.query);
      expect(m, v.query).not.toBeNull();
      expect(m![1]).toBe(ownMeasurement(name));
      expect(measurement.tags.has(m![2]), `${v.name}: tag ${m![2]}`).toBe(true);
      expect(m![2]).toBe(v.name);
      const shape = shapeOf(v.query);
      for (const n of shape.names) expect(measurement.tags.has(n), `${v.name}: ${n}`).toBe(true);
      for (const used of shape.variables) expect(defined.slice(0, i), `${v.name} uses $${used}`).toContain(used);
    }
  });

  it.each(queries.map(({ panel, target }) => [`${panel.title} ${target.refId}`, target] as const))(
    'query of %s reads real measurements, tags and fields',
    (_title, target) => {
      const shape = shapeOf(target.query);
      expect(shape.unknownWords, 'bare words: quote names in double quotes').toStrictEqual([]);
      expect(new Set(shape.measurements).size, 'one measurement per query').toBe(1);
      const [measurementName] = shape.measurements;
      const measurement = LAYOUT.get(measurementName);
      expect(measurement, `measurement ${measurementName}`).toBeDefined();
      const allowedFields =
        measurementName === 'events' && name !== 'alarms'
          ? new Map([['count', 'integer' as FieldType], ...eventDetails(name as KindName)])
          : measurement!.fields;
      for (const n of shape.names) {
        const known = measurement!.tags.has(n) || allowedFields.has(n) || shape.aliases.includes(n);
        expect(known, `"${n}" is neither a tag nor a field of ${measurementName}, nor an alias`).toBe(true);
      }
      // InfluxQL refuses mean(), sum()... of booleans and strings: those take last(), first() or count().
      for (const call of shape.calls) {
        const type = allowedFields.get(call.name);
        if (type && NUMERIC_FUNCTIONS.has(call.fn)) expect(['number', 'integer'], `${call.fn}("${call.name}")`).toContain(type);
      }
      expect(shape.variables, 'every query is bounded by the dashboard time range').toContain('timeFilter');
      for (const v of shape.variables) {
        if (!BUILT_IN_VARIABLES.has(v)) expect(defined, `$${v}`).toContain(v);
      }
      for (const v of variablesUsed(target.alias ?? '')) {
        const tag = /^tag_(\w+)$/.exec(v)?.[1];
        expect(tag, `alias $${v}`).toBeDefined();
        expect(shape.groupBy, `alias $${v} needs GROUP BY "${tag}"`).toContain(tag);
      }
    },
  );

  it('compares tags and string fields only with values the gateway writes', () => {
    for (const { target } of queries) {
      const shape = shapeOf(target.query);
      for (const c of shape.comparisons) {
        const values = c.kind === 'regex' ? regexAlternatives(c.value) : c.kind === 'string' ? [c.value] : undefined;
        if (!values) continue; // a template variable, or a boolean literal checked with the field's type below
        if (c.name === 'kind') expect(values, target.query).toStrictEqual([name]);
        if (c.name === 'type' && shape.measurements[0] === 'events') {
          for (const v of values) expect(Object.keys(KINDS[name as KindName].events), target.query).toContain(v);
        }
        if (c.name === 'state') for (const v of values) expect(ALARM_STATES as readonly string[]).toContain(v);
        if (c.name === 'severity') for (const v of values) expect(SEVERITIES as readonly string[]).toContain(v);
      }
      for (const c of shape.comparisons.filter((c) => c.kind === 'word')) {
        const field = LAYOUT.get(shape.measurements[0])!.fields.get(c.name);
        expect(field, `"${c.name}" = ${c.value}`).toBe('boolean');
        expect(['true', 'false']).toContain(c.value);
      }
    }
  });

  if (name !== 'alarms') {
    const kind = name as KindName;
    it('shows every telemetry field of the kind and its events', () => {
      const shapes = queries.map(({ target }) => shapeOf(target.query));
      const read = new Set(shapes.filter((s) => s.measurements[0] === kind).flatMap((s) => s.names));
      for (const field of KINDS[kind].fields) expect(read, `field ${field}`).toContain(field);
      const eventQueries = shapes.filter((s) => s.measurements[0] === 'events');
      expect(eventQueries.length).toBeGreaterThan(0);
      for (const s of eventQueries) expect(s.comparisons.some((c) => c.name === 'kind' && c.value === kind), 'filters on its kind').toBe(true);
    });
  }
});

/** Issue 18: the energy and water dashboard reads both registers' measurements; checked like the kinds' dashboards. */
describe('dashboard energy-water', () => {
  const dashboard = DASHBOARDS.get('energy-water') as Dashboard;
  const queries = targetsOf(dashboard);
  const defined = dashboard.templating.list.map((v) => v.name);

  it('has panels with distinct ids, each with a raw InfluxQL query on the provisioned data source', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toStrictEqual({ type: 'influxdb', uid: DATA_SOURCES[0].uid });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) expect(t.rawQuery, `${panel.title} ${t.refId}`).toBe(true);
    }
  });

  it('chooses site and zone among the tags of both measurements, and the time zone of its days', () => {
    const [site, zone, tz] = dashboard.templating.list;
    expect(site.query).toBe('SHOW TAG VALUES FROM "energy", "water" WITH KEY = "site"');
    expect(zone.query).toBe('SHOW TAG VALUES FROM "energy", "water" WITH KEY = "zone" WHERE "site" =~ /^$site$/');
    expect(tz).toMatchObject({ name: 'tz', type: 'custom' });
    for (const zoneName of tz.query.split(',')) expect(() => new Intl.DateTimeFormat('en', { timeZone: zoneName })).not.toThrow();
  });

  it.each(queries.map(({ panel, target }) => [`${panel.title} ${target.refId}`, target] as const))(
    'query of %s reads real tags and fields, and never a negative consumption',
    (_title, target) => {
      const shape = shapeOf(target.query);
      expect(shape.unknownWords).toStrictEqual([]);
      expect(new Set(shape.measurements).size).toBe(1);
      const measurement = LAYOUT.get(shape.measurements[0])!;
      expect(['energy', 'water']).toContain(shape.measurements[0]);
      for (const n of shape.names) expect(measurement.tags.has(n) || measurement.fields.has(n) || shape.aliases.includes(n), n).toBe(true);
      for (const call of shape.calls) {
        const type = measurement.fields.get(call.name);
        if (type && NUMERIC_FUNCTIONS.has(call.fn)) expect(['number', 'integer']).toContain(type);
        // A cumulative register is only ever read as the increase of its last reading, never below zero.
        if (call.name === 'energyKwh' || call.name === 'volumeM3') expect(target.query).toContain(`non_negative_difference(last("${call.name}"))`);
      }
      expect(shape.variables).toContain('timeFilter');
      for (const v of shape.variables) if (!BUILT_IN_VARIABLES.has(v)) expect(defined).toContain(v);
      if (/GROUP BY time\(1[dh]\)/.test(target.query)) expect(target.query).toContain("tz('$tz')");
      for (const v of variablesUsed(target.alias ?? '')) expect(shape.groupBy).toContain(/^tag_(\w+)$/.exec(v)?.[1]);
    },
  );

  it('shows consumption per day and hour, power, base load and night flow of both registers', () => {
    const read = new Set(queries.flatMap(({ target }) => shapeOf(target.query).names));
    for (const field of ['energyKwh', 'powerKw', 'volumeM3', 'flowM3h']) expect(read, field).toContain(field);
  });
});
