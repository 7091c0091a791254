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
const LEAVES = [/^config\//, /^log\.ts$/, /^lifecycle\.ts$/, /^errors\.ts$/, /^topics\.ts$/, /^devices\/kinds\//, /^secrets\.ts$/, /^metrics\.ts$/, /^failures\.ts$/, /^finite\.ts$/, /^refusal-log\.ts$/, /^rules\/schema/, /^shared\/language\.ts$/];
const isLeaf = (m: string) => LEAVES.some((re) => re.test(m));

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

  it('lets nothing import the composition root or the entry point', () => {
    const out = [...graph].flatMap(([m, ts]) => ts.filter((t) => (t === 'gateway.ts' && m !== 'main.ts') || t === 'main.ts').map((t) => `${m} → ${t}`));
    expect(out).toStrictEqual([]);
  });

  it("lets nothing but the entry point import the ingest worker's composition root", () => {
    expect([...graph].filter(([m, ts]) => m !== 'main.ts' && ts.includes('worker.ts')).map(([m]) => m)).toStrictEqual([]);
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

/**
 * The table of allowed imports in docs/architecture.md, between its `imports:start` and `imports:end` markers:
 * one row per folder (or top-level file) of src/, the units it may import besides itself, the leaves and
 * `shared/`. `*` allows everything (the composition roots).
 */
function allowedTable(): Map<string, string[]> {
  const doc = readFileSync(resolve(SRC, '../docs/architecture.md'), 'utf8');
  const block = /<!-- imports:start -->([\s\S]*?)<!-- imports:end -->/.exec(doc)?.[1] ?? '';
  const table = new Map<string, string[]>();
  for (const line of block.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[1].startsWith('`')) continue;
    const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    for (const unit of names(cells[1])) table.set(unit, cells[2] === '*' ? ['*'] : names(cells[2]));
  }
  return table;
}

/** The unit of the table a module belongs to: a leaf, `shared/`, a storage sub-folder, a folder or a top-level file. */
function unitOf(module: string): string {
  if (isLeaf(module)) return 'leaves';
  const [first, second] = module.split('/');
  if (first === 'storage' && (second === 'influx' || second === 'state')) return `storage/${second}/`;
  if (second !== undefined) return `${first}/`;
  return first.replace(/\.ts$/, '');
}

describe('the table of allowed imports (docs/architecture.md)', () => {
  const table = allowedTable();

  it('has a row for every folder and top-level file of src/', () => {
    const missing = [...new Set([...graph.keys()].map(unitOf))].filter((u) => !table.has(u)).sort();
    expect(missing).toStrictEqual([]);
    expect(table.size).toBeGreaterThan(15);
  });

  it('is kept: every import of every module is allowed by its row', () => {
    const out: string[] = [];
    for (const [module, targets] of graph) {
      const unit = unitOf(module);
      const allowed = table.get(unit) ?? [];
      if (allowed.includes('*')) continue;
      for (const t of targets) {
        const to = unitOf(t);
        if (to === unit || to === 'leaves' || (to === 'shared/' && unit !== 'leaves') || allowed.includes(to)) continue;
        out.push(`${module} → ${t}`);
      }
    }
    expect(out).toStrictEqual([]);
  });
});
