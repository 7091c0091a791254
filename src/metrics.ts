/** Label values of one sample, e.g. `{ reason: 'bad_password' }`. */
export type Labels = Record<string, string>;

interface Family {
  type: 'counter' | 'gauge';
  help: string;
  values: Map<string, number>;
  /** Read at scrape time, for gauges whose value lives elsewhere. */
  collect?: () => number | Array<[Labels, number]>;
}

/** Counters and gauges rendered as Prometheus text (exposition format 0.0.4). */
export class Metrics {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const family = this.family(name, 'counter', help);
    return (labels, by = 1) => {
      const key = labelKey(labels);
      family.values.set(key, (family.values.get(key) ?? 0) + by);
    };
  }

  /** One labelled sample of a counter, with its key computed once: for the per-message path. */
  counterFor(name: string, help: string, labels: Labels): (by?: number) => void {
    const family = this.family(name, 'counter', help);
    const key = labelKey(labels);
    if (!family.values.has(key)) family.values.set(key, 0);
    return (by = 1) => {
      family.values.set(key, (family.values.get(key) ?? 0) + by);
    };
  }

  /** A gauge computed at scrape time. */
  gauge(name: string, help: string, collect: () => number | Array<[Labels, number]>): void {
    this.family(name, 'gauge', help).collect = collect;
  }

  /** The current value of a counter or gauge sample, for tests and /ready. */
  value(name: string, labels?: Labels): number {
    const family = this.families.get(name);
    if (!family) return 0;
    if (family.collect) {
      const v = family.collect();
      if (typeof v === 'number') return v;
      return v.find(([l]) => labelKey(l) === labelKey(labels))?.[1] ?? 0;
    }
    return family.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      const samples: Array<[string, number]> = [...f.values];
      if (f.collect) {
        const v = f.collect();
        if (typeof v === 'number') samples.push(['', v]);
        else for (const [l, n] of v) samples.push([labelKey(l), n]);
      }
      for (const [key, v] of samples) out.push(`${name}${key} ${Number.isFinite(v) ? v : 0}`);
    }
    return `${out.join('\n')}\n`;
  }

  private family(name: string, type: Family['type'], help: string): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { type, help, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }
}

function labelKey(labels?: Labels): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
