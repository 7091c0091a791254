/**
 * Reads the rules folder (contract §6): every `.yaml`, `.yml` and `.json` file holds a list of rules. All
 * files are validated first; only when every one is valid do the rules replace those in force, at once
 * (HA: validate all, then attach). A refused set leaves the old rules running. The folder is watched. The
 * folder mechanism is shared with the profiles (`shared/watched-folder.ts`); this file says what a rule file is.
 */
import type { Bus } from '../bus.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_LANGUAGE, type Language } from '../shared/language.js';
import { parseListFile, readFolder, WatchedFolder, type FolderKind, type FolderLoad } from '../shared/watched-folder.js';
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

/**
 * A loaded rule as plain JSON for the API: where it is, whether it is on, and its text as written; `description`
 * in the default language, `descriptions` in every language.
 */
export function ruleView(l: LoadedRule): {
  id: string;
  file: string;
  enabled: boolean;
  form: string;
  description?: string;
  descriptions?: Record<Language, string>;
  definition: unknown;
} {
  const d = l.rule.description;
  return { id: l.rule.id, file: l.file, enabled: l.rule.enabled, form: l.rule.when.form, description: d?.[DEFAULT_LANGUAGE], ...(d && { descriptions: { ...d } }), definition: l.definition };
}

export type ReloadResult = { ok: true; rules: number } | { ok: false; errors: string[] };

/** What the rules folder holds: lists of rules, each known by its id. */
const RULE_FILES: FolderKind<LoadedRule> = {
  noun: 'rule',
  parseItem: (raw, file, index) => {
    const r = parseRule(raw, file, index);
    return r.ok ? { ok: true, item: { file, rule: r.rule, definition: raw } } : r;
  },
  idOf: (l) => l.rule.id,
};

/** Parses one file's text; answers its rules, or the problems (a file is all valid or refused). */
export function parseRuleFile(file: string, text: string): { rules: LoadedRule[]; errors: string[] } {
  const { items, errors } = parseListFile(file, text, RULE_FILES);
  return { rules: items, errors };
}

/**
 * Reads and validates every rule file of `dir`: the rules of the files that validate, and every problem of
 * the others (a rule id used twice keeps its first place). A missing folder is no rules (`missing: true`).
 */
export async function readRuleFiles(dir: string): Promise<{ rules: LoadedRule[]; errors: string[]; missing: boolean }> {
  const { items, errors, missing } = await readFolder(dir, RULE_FILES);
  return { rules: items, errors, missing };
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
  /** Told the outcome of each reload an edit in the folder caused, with the files changed (the audit trail). */
  edited?(load: FolderLoad, files: string[]): void;
}

export class RuleLoader {
  readonly name = 'rule loader';
  private readonly folder: WatchedFolder<LoadedRule>;

  constructor(opts: RuleLoaderOptions) {
    this.folder = new WatchedFolder({
      dir: opts.dir,
      kind: RULE_FILES,
      log: opts.log,
      debounceMs: opts.debounceMs,
      edited: opts.edited,
      apply: (rules) => {
        opts.engine.setRules(rules.map((r) => r.rule));
        opts.bus?.emit('rulesLoaded', { rules: rules.length });
      },
    });
  }

  /**
   * Loads the folder and watches it. At start there are no rules in force to keep, so a broken file does not
   * cost the others: the files that validate are attached and the refused ones logged as errors.
   */
  async start(): Promise<ReloadResult> {
    return toResult(await this.folder.start());
  }

  stop(): void {
    this.folder.stop();
  }

  /** Reads and validates the folder; swaps the rules only when all of it is valid. Reloads run one at a time. */
  async reload(): Promise<ReloadResult> {
    return toResult(await this.folder.reload());
  }

  /** The rules in force, as loaded (file and text as written). */
  rules(): readonly LoadedRule[] {
    return this.folder.list();
  }
}

function toResult(load: FolderLoad): ReloadResult {
  return load.ok ? { ok: true, rules: load.count } : load;
}
