/**
 * The templates of a profile's MQTT commands (contract §10): a topic and a payload in which `{device}` and
 * `{params.x}` are filled when a command is sent. Compiled at load; filling is a walk over the compiled tree, and
 * a value can add no topic level and no wildcard.
 */
import { firstNonFinite } from '../finite.js';
import { levelProblem, type CompiledTopic } from './topic.js';

/** A piece of text: literal, or a placeholder. */
export type TextPart = string | { device: true } | { param: string };

/** A compiled payload: what the template holds at each place. */
export type PayloadNode =
  | { literal: unknown }
  | { whole: Exclude<TextPart, string> }
  | { parts: TextPart[] }
  | { items: PayloadNode[] }
  | { entries: Array<[string, PayloadNode]> };

const PLACEHOLDER_RE = /\{(device|params\.([A-Za-z_][A-Za-z0-9_]*))\}/g;
/** Something written like a placeholder that is none of the known ones (a typo would be sent as written). */
const LOOKS_LIKE_PLACEHOLDER = /\{[A-Za-z_][A-Za-z0-9_.]*\}/;

/** Splits text into literal parts and placeholders; undefined when it holds none. */
function compileText(text: string): TextPart[] | { error: string } | undefined {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(m[2] === undefined ? { device: true } : { param: m[2] });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  const literal = parts.filter((p): p is string => typeof p === 'string').join('\u0000');
  const unknown = LOOKS_LIKE_PLACEHOLDER.exec(literal);
  if (unknown) return { error: `unknown placeholder ${unknown[0]}; use {device} or {params.name}` };
  return parts.some((p) => typeof p !== 'string') ? parts : undefined;
}

/** Compiles a payload template; answers it, or the problem and where in the payload it is. */
export function compilePayload(value: unknown, at: PropertyKey[] = []): { node: PayloadNode } | { error: string; path: PropertyKey[] } {
  if (typeof value === 'string') {
    const parts = compileText(value);
    if (parts === undefined) return { node: { literal: value } };
    if ('error' in parts) return { error: parts.error, path: at };
    // A value that is a placeholder alone keeps its type: `floor: "{params.floor}"` sends a number.
    return { node: parts.length === 1 && typeof parts[0] !== 'string' ? { whole: parts[0] } : { parts } };
  }
  if (Array.isArray(value)) {
    const items: PayloadNode[] = [];
    for (let i = 0; i < value.length; i++) {
      const c = compilePayload(value[i], [...at, i]);
      if ('error' in c) return c;
      items.push(c.node);
    }
    return { node: items.every((n) => 'literal' in n) ? { literal: value } : { items } };
  }
  if (typeof value === 'object' && value !== null) {
    const entries: Array<[string, PayloadNode]> = [];
    for (const [key, v] of Object.entries(value)) {
      const c = compilePayload(v, [...at, key]);
      if ('error' in c) return c;
      entries.push([key, c.node]);
    }
    return { node: entries.every(([, n]) => 'literal' in n) ? { literal: value } : { entries } };
  }
  return { node: { literal: value } };
}

/** The parameters a compiled payload or topic uses, in order of first use. */
export function paramsUsed(node: PayloadNode, topic?: CompiledTopic): string[] {
  const names = new Set<string>();
  for (const level of topic?.levels ?? []) if ('param' in level) names.add(level.param);
  const walk = (n: PayloadNode): void => {
    if ('whole' in n) {
      if ('param' in n.whole) names.add(n.whole.param);
    } else if ('parts' in n) {
      for (const p of n.parts) if (typeof p !== 'string' && 'param' in p) names.add(p.param);
    } else if ('items' in n) n.items.forEach(walk);
    else if ('entries' in n) for (const [, c] of n.entries) walk(c);
  };
  walk(node);
  return [...names];
}

export type Filled<T> = { ok: true; value: T } | { ok: false; error: string };

/** A parameter's value, or why there is none that can be sent. */
function param(params: Readonly<Record<string, unknown>>, name: string): Filled<unknown> {
  const value = Object.hasOwn(params, name) ? params[name] : undefined;
  if (value === undefined) return { ok: false, error: `params.${name} missing` };
  if (firstNonFinite(value) !== undefined) return { ok: false, error: `params.${name}: must be a finite number` };
  return { ok: true, value };
}

function fillText(parts: readonly TextPart[], device: string, params: Readonly<Record<string, unknown>>): Filled<string> {
  let text = '';
  for (const p of parts) {
    if (typeof p === 'string') text += p;
    else if ('device' in p) text += device;
    else {
      const v = param(params, p.param);
      if (!v.ok) return v;
      if (typeof v.value !== 'string' && typeof v.value !== 'number' && typeof v.value !== 'boolean') {
        return { ok: false, error: `params.${p.param}: must be text, a number or true/false to be written into text` };
      }
      text += String(v.value);
    }
  }
  return { ok: true, value: text };
}

/** Fills a compiled payload with the device id and the command's parameters. */
export function fillPayload(node: PayloadNode, device: string, params: Readonly<Record<string, unknown>>): Filled<unknown> {
  if ('literal' in node) return { ok: true, value: node.literal };
  if ('whole' in node) return 'device' in node.whole ? { ok: true, value: device } : param(params, node.whole.param);
  if ('parts' in node) return fillText(node.parts, device, params);
  if ('items' in node) {
    const out: unknown[] = [];
    for (const item of node.items) {
      const f = fillPayload(item, device, params);
      if (!f.ok) return f;
      out.push(f.value);
    }
    return { ok: true, value: out };
  }
  const entries: Array<[string, unknown]> = [];
  for (const [key, child] of node.entries) {
    const f = fillPayload(child, device, params);
    if (!f.ok) return f;
    entries.push([key, f.value]);
  }
  // fromEntries defines own properties: a vendor key such as `__proto__` stays a key.
  return { ok: true, value: Object.fromEntries(entries) };
}

/** Fills a compiled topic; a value that would add a level or a wildcard is refused. */
export function fillTopic(topic: CompiledTopic, device: string, params: Readonly<Record<string, unknown>>): Filled<string> {
  const levels: string[] = [];
  for (const level of topic.levels) {
    if ('text' in level) {
      levels.push(level.text);
      continue;
    }
    const name = 'device' in level ? 'device' : `params.${level.param}`;
    let value: unknown = device;
    if ('param' in level) {
      const v = param(params, level.param);
      if (!v.ok) return v;
      value = v.value;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return { ok: false, error: `${name}: must be text, a number or true/false to be a topic level` };
    }
    const problem = levelProblem(String(value));
    if (problem) return { ok: false, error: `${name}: ${problem} (it fills a topic level)` };
    levels.push(String(value));
  }
  return { ok: true, value: levels.join('/') };
}
