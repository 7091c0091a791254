/** Fills `message`, `title` and command `match` text (contract §6) from the source that triggered a rule. */
import type { Change } from './conditions/types.js';
import type { Placeholder, Scalar, Template } from './schema.js';

export type TemplateVars = Partial<Record<Placeholder, string>>;

/** A reading as people read it: integers as they are, other numbers to six significant digits. */
export function formatValue(v: Scalar | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Number(v.toPrecision(6)));
  return String(v);
}

/** The placeholders' values for one change of `rule`; `{device}` of a zone source is the triggering device. */
export function templateVars(rule: string, change: Change): TemplateVars {
  const s = change.source;
  return {
    device: s.device ?? change.trigger ?? '',
    zone: s.zone ?? '',
    // In words per language where the text is rendered (rules/effects.ts); the id until then.
    place: s.zone ?? '',
    site: s.site,
    value: formatValue(change.value),
    kind: s.kind ?? '',
    rule,
  };
}

/** Joins the compiled parts (placeholders were checked at load, so each has a value or is empty). */
export function render(t: Template, vars: TemplateVars): string {
  let out = '';
  for (const p of t.parts) out += typeof p === 'string' ? p : (vars[p.name] ?? '');
  return out;
}
