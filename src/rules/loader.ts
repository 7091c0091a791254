/**
 * Reads the rules folder (contract §6): every `.yaml`, `.yml` and `.json` file holds a list of rules. All
 * files are validated first; only when every one is valid do the rules replace those in force, at once
 * (HA: validate all, then attach). A refused set leaves the old rules running. The folder is watched.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { Bus } from '../bus.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseRule, type Rule } from './schema.js';

/** One or more rule files did not validate; `problems` name the file, the rule and the field. */
export class RulesInvalidError extends GatewayError {
  constructor(readonly problems: string[]) {
    super('validation_failed', problems.join('\n'));
    this.name = 'RulesInvalidError';
  }
}

/** A rule with the file it came from and its text as written (what `GET /api/rules` shows). */
export interface LoadedRule {
  file: string;
  rule: Rule;
  definition: unknown;
}

/** A loaded rule as plain JSON for the API: where it is, whether it is on, and its text as written. */
export function ruleView(l: LoadedRule): { id: string; file: string; enabled: boolean; form: string; description?: string; definition: unknown } {
  return { id: l.rule.id, file: l.file, enabled: l.rule.enabled, form: l.rule.when.form, description: l.rule.description, definition: l.definition };
}

export type ReloadResult = { ok: true; rules: number } | { ok: false; errors: string[] };

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Parses one file's text; answers its rules, or the problems (a file is all valid or refused). */
export function parseRuleFile(file: string, text: string): { rules: LoadedRule[]; errors: string[] } {
  let data: unknown;
  if (extname(file) === '.json') {
    try {
      data = text.trim() === '' ? null : JSON.parse(text);
    } catch (err) {
      return { rules: [], errors: [`${file}: not valid JSON: ${(err as Error).message}`] };
    }
  } else {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) return { rules: [], errors: doc.errors.map((e) => `${file}: not valid YAML: ${e.message.split('\n')[0].replace(/:$/, '')}`) };
    data = doc.toJS();
  }
  if (data === null || data === undefined) return { rules: [], errors: [] };
  if (!Array.isArray(data)) return { rules: [], errors: [`${file}: must hold a list of rules`] };
  const rules: LoadedRule[] = [];
  const errors: string[] = [];
  data.forEach((raw: unknown, i) => {
    const r = parseRule(raw, file, i);
    if (r.ok) rules.push({ file, rule: r.rule, definition: raw });
    else errors.push(...r.errors);
  });
  return { rules, errors };
}

/** Refuses an id defined twice, naming both places. */
function duplicateIds(rules: LoadedRule[]): string[] {
  const first = new Map<string, string>();
  const errors: string[] = [];
  for (const { file, rule } of rules) {
    const seen = first.get(rule.id);
    if (seen) errors.push(`${file}: rule ${JSON.stringify(rule.id)}: id: already used in ${seen}`);
    else first.set(rule.id, file);
  }
  return errors;
}

/** How a file is named in problems: relative to the working directory when inside it (`rules/fire.yaml`). */
function displayName(dir: string, file: string): string {
  const path = join(dir, file);
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Reads and validates every rule file of `dir`: the rules of the files that validate, and every problem of
 * the others (a rule id used twice keeps its first place). A missing folder is no rules (`missing: true`).
 */
export async function readRuleFiles(dir: string): Promise<{ rules: LoadedRule[]; errors: string[]; missing: boolean }> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    // Dotfiles are editors' lock and swap files, never rules.
    names = entries.filter((e) => e.isFile() && !e.name.startsWith('.') && EXTENSIONS.has(extname(e.name))).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rules: [], errors: [], missing: true };
    throw err;
  }
  const rules: LoadedRule[] = [];
  const errors: string[] = [];
  for (const name of names.sort()) {
    const parsed = parseRuleFile(displayName(dir, name), await readFile(join(dir, name), 'utf8'));
    if (parsed.errors.length === 0) rules.push(...parsed.rules);
    errors.push(...parsed.errors);
  }
  const duplicates = duplicateIds(rules);
  const seen = new Set<string>();
  const unique = rules.filter((r) => !seen.has(r.rule.id) && seen.add(r.rule.id));
  return { rules: unique, errors: [...errors, ...duplicates], missing: false };
}

/** Reads and validates every rule file of `dir`, throwing RulesInvalidError with all the problems. */
export async function readRules(dir: string): Promise<{ rules: LoadedRule[]; missing: boolean }> {
  const read = await readRuleFiles(dir);
  if (read.errors.length > 0) throw new RulesInvalidError(read.errors);
  return { rules: read.rules, missing: read.missing };
}

export interface RuleLoaderOptions {
  dir: string;
  /** Where a validated set goes (the RuleEngine). */
  engine: { setRules(rules: readonly Rule[]): void };
  log: Logger;
  /** Told `rulesLoaded` whenever a set is put in force (the definitions list the rules' alarm types). */
  bus?: Bus;
  /** Quiet time after the last change in the folder before reloading; default 200 ms. */
  debounceMs?: number;
}

export class RuleLoader {
  readonly name = 'rule loader';
  private loaded: LoadedRule[] = [];
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RuleLoaderOptions) {}

  /**
   * Loads the folder and watches it. At start there are no rules in force to keep, so a broken file does not
   * cost the others: the files that validate are attached and the refused ones logged as errors (a gateway
   * that watched nothing because of one typo would be worse than one that watches all but that file).
   */
  async start(): Promise<ReloadResult> {
    const { dir, engine, log } = this.opts;
    let result: ReloadResult;
    try {
      const read = await readRuleFiles(dir);
      if (read.missing) log.warn({ dir }, 'rules folder missing; no rules');
      engine.setRules(read.rules.map((r) => r.rule));
      this.loaded = read.rules;
      this.opts.bus?.emit('rulesLoaded', { rules: read.rules.length });
      if (read.errors.length > 0) log.error({ dir, errors: read.errors, rules: read.rules.length }, 'rule files refused at start; the valid ones are in force');
      else log.info({ dir, rules: read.rules.length }, 'rules loaded');
      result = read.errors.length > 0 ? { ok: false, errors: read.errors } : { ok: true, rules: read.rules.length };
    } catch (err) {
      log.error({ err, dir }, 'rules folder unreadable; no rules');
      result = { ok: false, errors: [`${dir}: ${(err as Error).message}`] };
    }
    this.watch();
    return result;
  }

  stop(): void {
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Reads and validates the folder; swaps the rules only when all of it is valid. Reloads run one at a time. */
  reload(): Promise<ReloadResult> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The rules in force, as loaded (file and text as written). */
  rules(): readonly LoadedRule[] {
    return this.loaded;
  }

  private async load(): Promise<ReloadResult> {
    const { dir, engine, log } = this.opts;
    let read: Awaited<ReturnType<typeof readRules>>;
    try {
      read = await readRules(dir);
    } catch (err) {
      const errors = err instanceof RulesInvalidError ? err.problems : [`${dir}: ${(err as Error).message}`];
      log.warn({ dir, errors }, 'rule files refused; the rules in force stay');
      return { ok: false, errors };
    }
    if (read.missing) log.warn({ dir }, 'rules folder missing; no rules');
    engine.setRules(read.rules.map((r) => r.rule));
    this.loaded = read.rules;
    log.info({ dir, rules: read.rules.length }, 'rules loaded');
    this.opts.bus?.emit('rulesLoaded', { rules: read.rules.length });
    return { ok: true, rules: read.rules.length };
  }

  /** Reloads a moment after the folder last changed (editors write a file in several steps). */
  private watch(): void {
    const { dir, log } = this.opts;
    try {
      this.watcher = watch(dir, () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 200);
      });
    } catch (err) {
      log.warn({ err, dir }, 'rules folder not watched; reload through the API');
      return;
    }
    this.watcher.on('error', (err) => {
      log.warn({ err, dir }, 'rules folder no longer watched; reload through the API');
      this.watcher?.close();
      this.watcher = undefined;
    });
  }
}
