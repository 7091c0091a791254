import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const DEVICES = resolve(SRC, '../devices');

/** Every module under `root` with the modules it imports, relative to src/ (type-only imports included). */
function importGraph(root = SRC): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        const targets = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) =>
          relative(SRC, resolve(dirname(path), m[1].replace(/\.js$/, '.ts'))),
        );
        graph.set(relative(root, path), targets);
      }
    }
  };
  walk(root);
  return graph;
}

const graph = importGraph();
const LEAVES = [/^config\//, /^log\.ts$/, /^lifecycle\.ts$/, /^errors\.ts$/, /^topics\.ts$/, /^devices\/kinds\//, /^secrets\.ts$/, /^metrics\.ts$/, /^failures\.ts$/, /^finite\.ts$/, /^refusal-log\.ts$/, /^rules\/schema/];
const isLeaf = (m: string) => LEAVES.some((re) => re.test(m));

/** The modules `from` imports that match none of `allowed`. */
function violations(from: RegExp, allowed: RegExp[]): string[] {
  const out: string[] = [];
  for (const [module, targets] of graph) {
    if (!from.test(module)) continue;
    for (const t of targets) if (!allowed.some((re) => re.test(t))) out.push(`${module} → ${t}`);
  }
  return out;
}

describe('dependency direction (house style §2)', () => {
  it('finds the modules it checks', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get('gateway.ts')).toContain('broker/broker.ts');
  });

  it('keeps the leaves free of everything but other leaves', () => {
    const out: string[] = [];
    for (const [module, targets] of graph) if (isLeaf(module)) for (const t of targets) if (!isLeaf(t)) out.push(`${module} → ${t}`);
    expect(out).toStrictEqual([]);
  });

  it('keeps ingest away from storage, the broker and rules', () => {
    expect(violations(/^ingest\//, [/^ingest\//, /^bus\.ts$/, ...LEAVES])).toStrictEqual([]);
  });

  it('lets storage/influx know only points, HTTP and the leaves', () => {
    expect(violations(/^storage\/influx\//, [/^storage\/influx\//, ...LEAVES])).toStrictEqual([]);
  });

  it('keeps the API away from broker internals', () => {
    expect([...graph].filter(([m, ts]) => m.startsWith('api/') && ts.some((t) => t.startsWith('broker/')))).toStrictEqual([]);
  });

  it('lets the upstream link know the bus, the leaves and the disk spool, never the broker or the services', () => {
    // Commands reach devices through a sender gateway.ts injects; alarms and work orders arrive on the bus.
    expect(violations(/^upstream\//, [/^upstream\//, /^bus\.ts$/, /^storage\/influx\/spool(-files)?\.ts$/, ...LEAVES])).toStrictEqual([]);
  });

  it('lets nothing import the composition root or the entry point', () => {
    const out = [...graph].flatMap(([m, ts]) => ts.filter((t) => (t === 'gateway.ts' && m !== 'main.ts') || t === 'main.ts').map((t) => `${m} → ${t}`));
    expect(out).toStrictEqual([]);
  });

  it("lets nothing but the entry point import the ingest worker's composition root", () => {
    expect([...graph].filter(([m, ts]) => m !== 'main.ts' && ts.includes('worker.ts')).map(([m]) => m)).toStrictEqual([]);
  });

  it('keeps the broker parts from importing the composition roots and the services they serve', () => {
    // Accounts and ingest reach them through what gateway.ts injects; the registries' types are all they know.
    const services = /^(alarms|workorders|rules|commands|api|storage|ingest\/rejections)/;
    expect([...graph].filter(([m, ts]) => m.startsWith('broker/') && ts.some((t) => services.test(t))).map(([m]) => m)).toStrictEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (m: string, path: string[]) => {
      if (state.get(m) === 'done') return;
      if (state.get(m) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(m)), m].join(' → '));
        return;
      }
      state.set(m, 'visiting');
      for (const t of graph.get(m) ?? []) visit(t, [...path, m]);
      state.set(m, 'done');
    };
    for (const m of graph.keys()) visit(m, []);
    expect(cycles).toStrictEqual([]);
  });

  it('lets the simulators use only the leaves of src/ (the kind schemas, topics, durations)', () => {
    const fromDevices = [...importGraph(DEVICES)].flatMap(([m, ts]) =>
      ts.filter((t) => !t.startsWith('..') && !isLeaf(t)).map((t) => `devices/${m} → src/${t}`),
    );
    expect(fromDevices).toStrictEqual([]);
    expect([...importGraph(DEVICES).values()].flat()).toContain('devices/kinds/index.ts');
  });
});
