/**
 * What a `when` does with the type of a telemetry field (contract §6, §9). A threshold or a rise/fall compares
 * numbers (a boolean counts as 1 or 0), so a text field, an enum such as a lift's `mode`, is refused there: it
 * would never hold. A `where` compares values, so on an enum field it must name one of the enum's values. A leaf,
 * like schema.ts, which runs it after the names are known to exist.
 */
import type { z } from 'zod';
import { describeKinds, type FieldDefinition, type KindDescription } from '../devices/kinds/describe.js';
import { KIND_NAMES, type KindName } from '../devices/kinds/index.js';
import type { Scalar } from './schema-parts.js';
import type { When } from './schema-when.js';

let described: Record<KindName, KindDescription> | undefined;

/** How `field` is defined by each of `kinds` that has it (none: schema.ts reports the unknown name). */
function definitionsOf(field: string, kinds: readonly KindName[]): FieldDefinition[] {
  described ??= describeKinds();
  const all = described;
  return kinds.flatMap((k) => (Object.hasOwn(all[k].telemetry, field) ? [all[k].telemetry[field]] : []));
}

/** A field a `when` compares with a level, with its `where` and the paths to report them at. */
interface Compared {
  field: string;
  /** `above`/`below`, or `rise`/`fall`: what the message calls the comparison. */
  verb: string;
  path: PropertyKey[];
  where?: Record<string, Scalar>;
  wherePath: PropertyKey[];
}

function comparedFields(when: When): Compared[] {
  switch (when.form) {
    case 'threshold':
      return [{ field: when.telemetry, verb: when.dir, path: ['telemetry'], where: when.where, wherePath: ['where'] }];
    case 'rate':
      return [{ field: when.telemetry, verb: when.dir, path: ['telemetry'], where: when.where, wherePath: ['where'] }];
    case 'forecast':
    case 'anomaly':
      return [{ field: when.telemetry, verb: when.form, path: ['telemetry'], where: when.where, wherePath: ['where'] }];
    case 'all':
      return when.all.flatMap((s, i): Compared[] =>
        s.form === 'threshold' ? [{ field: s.telemetry, verb: s.dir, path: ['all', i, 'telemetry'], where: s.where, wherePath: ['all', i, 'where'] }] : [],
      );
    default:
      return [];
  }
}

/** The values an enum field takes in every kind that has it, or undefined when one of them is not an enum. */
function enumValues(defs: readonly FieldDefinition[]): string[] | undefined {
  if (defs.length === 0 || defs.some((d) => d.values === undefined)) return undefined;
  return [...new Set(defs.flatMap((d) => d.values ?? []))];
}

/** Refuses a comparison with a level on a text field, and a `where` value an enum field never takes. */
export function checkFieldTypes(when: When, kinds: readonly KindName[] | undefined, ctx: z.core.$RefinementCtx): void {
  const covered = kinds ?? KIND_NAMES;
  for (const c of comparedFields(when)) {
    const defs = definitionsOf(c.field, covered);
    if (defs.length > 0 && defs.every((d) => d.type === 'string')) {
      const values = enumValues(defs);
      const listed = values ? ` (${values.join(', ')})` : '';
      const example = values ? `, e.g. where: { ${c.field}: ${values[0]} }` : '';
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(c.field)} is text${listed}, not a number: ${c.verb} compares numbers; test a text field's value in where${example}`,
        path: ['when', ...c.path],
      });
    }
    for (const [key, value] of Object.entries(c.where ?? {})) {
      const values = enumValues(definitionsOf(key, covered));
      if (values && !values.includes(value as string)) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a value of ${key} (${values.join(', ')})`, path: ['when', ...c.wherePath, key] });
      }
    }
  }
}
