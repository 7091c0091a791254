// A tree of environment variables shaped like the Config it yields: each leaf writes a variable's name once, beside
// the schema of its value, and the flat schema of the environment, the values and the names are all derived from it.
import { z } from 'zod';

/** One environment variable: its name and the schema from its text to its value in the Config. */
export class Var<N extends string = string, S extends z.ZodType = z.ZodType> {
  constructor(
    readonly env: N,
    readonly schema: S,
  ) {}
}

/** Fields of the Config, each a variable or a group of them. */
export type Tree = { readonly [field: string]: Var | Tree };

/** The variable `env`, whose value `schema` reads. */
export const v = <N extends string, S extends z.ZodType>(env: N, schema: S) => new Var(env, schema);

/** `T` with each field that may be undefined made optional, as zod and a hand-written interface have them. */
export type Optional<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: T[K];
} extends infer O
  ? { -readonly [K in keyof O]: O[K] }
  : never;
/** The tree's values, field by field. */
export type Values<T> = Optional<{ [K in keyof T]: T[K] extends Var<string, infer S> ? z.output<S> : Values<T[K]> }>;
/** The tree's variable names, field by field. */
export type Names<T> = { readonly [K in keyof T]: T[K] extends Var<infer N> ? N : Names<T[K]> };
type VarsOf<T> = { [K in keyof T]: T[K] extends Var ? T[K] : VarsOf<T[K]> }[keyof T];
/** The shape of the flat object schema of the environment: variable name → its schema. */
export type EnvShape<T> = { [V in VarsOf<T> as V extends Var<infer N> ? N : never]: V extends Var<string, infer S> ? S : never };

/** The tree with each variable replaced by `leaf(variable)`. */
function mapVars(tree: Tree, leaf: (v: Var) => unknown): unknown {
  return Object.fromEntries(Object.entries(tree).map(([field, x]) => [field, x instanceof Var ? leaf(x) : mapVars(x, leaf)]));
}

/** Every variable of the tree, in the order written. */
export function varsOf(tree: Tree): Var[] {
  return Object.values(tree).flatMap((x) => (x instanceof Var ? [x] : varsOf(x)));
}

/** The flat schema of the environment: each variable by its name. */
export function envSchema<T extends Tree>(tree: T) {
  return z.object(Object.fromEntries(varsOf(tree).map((x) => [x.env, x.schema])) as EnvShape<T>);
}

/** The tree's values, read from the parsed environment. */
export function valuesOf<T extends Tree>(tree: T, env: Record<string, unknown>): Values<T> {
  return mapVars(tree, (x) => env[x.env]) as Values<T>;
}

/** The tree's variable names, for messages about a field. */
export function namesOf<T extends Tree>(tree: T): Names<T> {
  return mapVars(tree, (x) => x.env) as Names<T>;
}
