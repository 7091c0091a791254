import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The provisioned Grafana files at the top of the project (docker-compose.yml mounts them). */
export const GRAFANA_DIR = fileURLToPath(new URL('../../grafana/', import.meta.url));

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId: string;
  datasource?: DataSourceRef;
  query: string;
  rawQuery?: boolean;
  resultFormat?: string;
  alias?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DataSourceRef;
  targets?: Target[];
}

export interface Variable {
  name: string;
  type: string;
  datasource?: DataSourceRef;
  query: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Variable[] };
  panels: Panel[];
}

/** Every dashboard file in grafana/dashboards/, by file name without `.json`. */
export function loadDashboards(): Map<string, Dashboard> {
  const dir = `${GRAFANA_DIR}dashboards/`;
  const out = new Map<string, Dashboard>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    out.set(name.slice(0, -'.json'.length), JSON.parse(readFileSync(dir + name, 'utf8')) as Dashboard);
  }
  return out;
}

export interface ProvisionedDataSource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData: { dbName: string };
}

/** The provisioned data sources (grafana/provisioning/datasources/influxdb.yaml). */
export function loadDataSources(): ProvisionedDataSource[] {
  const doc = parse(readFileSync(`${GRAFANA_DIR}provisioning/datasources/influxdb.yaml`, 'utf8')) as { datasources: ProvisionedDataSource[] };
  return doc.datasources;
}

/** Every panel target of a dashboard with the panel it belongs to. */
export function targetsOf(dashboard: Dashboard): Array<{ panel: Panel; target: Target }> {
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
}

/** Grafana's own variables in InfluxQL queries: the time range and the group-by interval. */
export const BUILT_IN_VARIABLES = new Set(['timeFilter', '__interval', '__interval_ms', 'interval']);

/** Names of the template variables a text uses: `$name`, `${name}` and `[[name]]`. */
export function variablesUsed(text: string): string[] {
  const names = [...text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  return [...new Set(names)];
}

/** A query with Grafana's substitutions done: each variable's regex value, the time range and the interval. */
export function substitute(query: string, values: Record<string, string>, timeFilter: string, interval: string): string {
  return query
    .replaceAll('$timeFilter', timeFilter)
    .replaceAll('$__interval', interval)
    .replace(/\$(\w+)/g, (whole, name: string) => values[name] ?? whole);
}

type Token =
  | { kind: 'ident'; value: string } // "quoted identifier"
  | { kind: 'word'; value: string } // bare word: keyword, function, true/false
  | { kind: 'string'; value: string } // 'literal'
  | { kind: 'regex'; value: string } // /literal/ after =~ or !~
  | { kind: 'var'; value: string } // $name
  | { kind: 'number'; value: string }
  | { kind: 'punct'; value: string };

/** Splits InfluxQL into tokens; a `/` starts a regex only after `=~` or `!~`, otherwise it divides. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const prev = () => tokens.at(-1)?.value;
  while (i < query.length) {
    const c = query[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const quoted = (q: string, kind: 'ident' | 'string' | 'regex') => {
      let j = i + 1;
      let value = '';
      while (j < query.length && query[j] !== q) {
        if (query[j] === '\\' && j + 1 < query.length) value += query[j++];
        value += query[j++];
      }
      if (j >= query.length) throw new Error(`unterminated ${kind} at ${i} in: ${query}`);
      tokens.push({ kind, value });
      i = j + 1;
    };
    if (c === '"') quoted('"', 'ident');
    else if (c === "'") quoted("'", 'string');
    else if (c === '/' && (prev() === '=~' || prev() === '!~')) quoted('/', 'regex');
    else if (c === '$') {
      const m = /^\$\{?(\w+)\}?/.exec(query.slice(i));
      if (!m) throw new Error(`bad variable at ${i} in: ${query}`);
      tokens.push({ kind: 'var', value: m[1] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_]\w*/.exec(query.slice(i))!;
      tokens.push({ kind: 'word', value: m[0] });
      i += m[0].length;
    } else if (/\d/.test(c)) {
      const m = /^\d+(?:\.\d+)?[a-z]*/.exec(query.slice(i))!;
      tokens.push({ kind: 'number', value: m[0] });
      i += m[0].length;
    } else {
      const m = /^(=~|!~|!=|<>|<=|>=|[=<>(),*/+\-.;])/.exec(query.slice(i));
      if (!m) throw new Error(`unexpected "${c}" at ${i} in: ${query}`);
      tokens.push({ kind: 'punct', value: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

/** The keywords and functions the dashboards may use as bare words; any other bare word is an unquoted name. */
export const INFLUXQL_WORDS = new Set([
  'SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'GROUP', 'BY', 'ORDER', 'DESC', 'ASC', 'LIMIT', 'SLIMIT', 'AS', 'fill',
  'null', 'none', 'previous', 'linear', 'time', 'now', 'true', 'false', 'SHOW', 'TAG', 'VALUES', 'WITH', 'KEY',
  // tz('Asia/Shanghai'): the time zone GROUP BY time(1d) counts days in (energy-water).
  'tz',
  ...['mean', 'median', 'sum', 'min', 'max', 'spread', 'stddev', 'count', 'distinct', 'first', 'last'],
  ...['non_negative_difference', 'difference', 'derivative', 'non_negative_derivative', 'moving_average', 'cumulative_sum'],
]);

/** Functions InfluxDB 1.x refuses on a boolean or string field (`unsupported mean iterator type`); min, max, last, first and count take booleans. */
export const NUMERIC_FUNCTIONS = new Set(['mean', 'median', 'sum', 'spread', 'stddev']);

export interface QueryShape {
  /** Measurements named after FROM (a subquery contributes its own). */
  measurements: string[];
  /** Quoted identifiers other than the measurement and the names after AS (they may use an alias). */
  names: string[];
  /** Names given with AS (a subquery's output columns). */
  aliases: string[];
  /** `fn("name")`: a function applied directly to a name. */
  calls: Array<{ fn: string; name: string }>;
  /** Quoted names in the outermost GROUP BY. */
  groupBy: string[];
  /** `"name" = 'literal'` and `"name" =~ /regex/` comparisons. */
  comparisons: Array<{ name: string; op: string; value: string; kind: 'string' | 'regex' | 'word' | 'var' | 'number' }>;
  /** Bare words that are not InfluxQL keywords or functions the dashboards use. */
  unknownWords: string[];
  /** Template variables, built-ins included. */
  variables: string[];
}

/** What a query reads: enough to check it against the InfluxDB layout without a server. */
export function shapeOf(query: string): QueryShape {
  const tokens = tokenize(query);
  const shape: QueryShape = { measurements: [], names: [], aliases: [], calls: [], groupBy: [], comparisons: [], unknownWords: [], variables: [] };
  let depth = 0;
  let groupByDepth = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const next = tokens[i + 1];
    const before = tokens[i - 1];
    if (t.kind === 'punct' && t.value === '(') depth++;
    if (t.kind === 'punct' && t.value === ')') {
      depth--;
      if (groupByDepth > depth) groupByDepth = -1;
    }
    if (t.kind === 'var') shape.variables.push(t.value);
    if (t.kind === 'word') {
      if (!INFLUXQL_WORDS.has(t.value)) shape.unknownWords.push(t.value);
      if (t.value === 'BY' && before?.value === 'GROUP') groupByDepth = depth;
      if (['ORDER', 'LIMIT', 'fill', 'WHERE', 'SELECT'].includes(t.value) && groupByDepth === depth) groupByDepth = -1;
      if (next?.value === '(' && tokens[i + 2]?.kind === 'ident') shape.calls.push({ fn: t.value, name: tokens[i + 2].value });
    }
    if (t.kind !== 'ident') continue;
    if (before?.kind === 'word' && before.value === 'FROM') shape.measurements.push(t.value);
    else if (before?.kind === 'word' && before.value === 'AS') shape.aliases.push(t.value);
    else {
      shape.names.push(t.value);
      if (groupByDepth === depth && depth === 0) shape.groupBy.push(t.value);
      if (next?.kind === 'punct' && ['=', '!=', '<>', '=~', '!~'].includes(next.value)) {
        const value = tokens[i + 2];
        if (value && value.kind !== 'ident' && value.kind !== 'punct') {
          shape.comparisons.push({ name: t.value, op: next.value, value: value.value, kind: value.kind });
        }
      }
    }
  }
  shape.variables = [...new Set(shape.variables)];
  return shape;
}

/** The alternatives of an anchored regex literal such as `^(a|b)$` or `^a$`; undefined for anything else. */
export function regexAlternatives(regex: string): string[] | undefined {
  const m = /^\^\(?([\w|-]+)\)?\$$/.exec(regex);
  return m ? m[1].split('|') : undefined;
}
