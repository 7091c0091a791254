/**
 * The JSONPath subset a profile reads vendor payloads with (contract §10): `$`, `$.a.b`, `$.a[0].b` and
 * `$['key with spaces']`. Parsed once, at load, by the small parser below (no eval, no filters, no recursive
 * descent, no wildcards); the compiled getter walks own properties only, so a path can never reach a
 * prototype, whatever the payload holds.
 */

/** Longest path text accepted: a vendor's path is a handful of keys. */
export const MAX_PATH_LENGTH = 256;
/** Most steps after `$`: deeper than any vendor payload, shallow enough to bound each read. */
export const MAX_PATH_STEPS = 32;
/** Highest array index accepted (9 digits): no real payload has a longer array, and no index loses precision. */
export const MAX_PATH_INDEX = 999_999_999;

/** One step of a path: an object key, or an array index. */
export type PathStep = string | number;

/** A compiled path: its text as written, its steps, and a getter that answers undefined where it leads nowhere. */
export interface CompiledPath {
  readonly text: string;
  readonly steps: readonly PathStep[];
  get(root: unknown): unknown;
}

export type PathResult = { ok: true; path: CompiledPath } | { ok: false; error: string };

/** A name after a dot: what vendors' keys are made of; anything else is written `['...']`. */
const DOT_NAME = /[A-Za-z0-9_-]/;

/**
 * Keys refused even in brackets. The getter already reads own properties only, but `__proto__` is also the one
 * key whose meaning differs between parsers (an own key after JSON.parse, the prototype in an object literal):
 * no vendor needs it, so no profile may name it.
 */
const FORBIDDEN_KEYS = new Set(['__proto__']);

/** Compiles `text`; answers the compiled path, or why it is not one of the accepted forms. */
export function compilePath(text: unknown): PathResult {
  if (typeof text !== 'string') return { ok: false, error: 'expected a path such as $.data.value' };
  if (text.length > MAX_PATH_LENGTH) return { ok: false, error: `path longer than ${MAX_PATH_LENGTH} characters` };
  if (text[0] !== '$') return { ok: false, error: `${JSON.stringify(text)}: a path starts with $` };
  const steps: PathStep[] = [];
  let i = 1;
  while (i < text.length) {
    const read = text[i] === '.' ? readDotName(text, i + 1) : text[i] === '[' ? readBracket(text, i + 1) : { error: 'expected . or [' };
    if ('error' in read) return { ok: false, error: `${JSON.stringify(text)}: ${read.error} at character ${i + 1}` };
    if (typeof read.step === 'string' && FORBIDDEN_KEYS.has(read.step)) {
      return { ok: false, error: `${JSON.stringify(text)}: the key ${read.step} cannot be read` };
    }
    steps.push(read.step);
    if (steps.length > MAX_PATH_STEPS) return { ok: false, error: `${JSON.stringify(text)}: deeper than ${MAX_PATH_STEPS} steps` };
    i = read.next;
  }
  return { ok: true, path: makePath(text, steps) };
}

type Read = { step: PathStep; next: number } | { error: string };

function readDotName(text: string, start: number): Read {
  let end = start;
  while (end < text.length && DOT_NAME.test(text[end])) end++;
  if (end === start) return { error: 'expected a name (letters, digits, _ or -; write other keys as [\'...\'])' };
  return { step: text.slice(start, end), next: end };
}

function readBracket(text: string, start: number): Read {
  const quote = text[start];
  if (quote === "'" || quote === '"') return readQuoted(text, start + 1, quote);
  let end = start;
  while (end < text.length && text[end] >= '0' && text[end] <= '9') end++;
  const digits = text.slice(start, end);
  if (digits === '' || text[end] !== ']') return { error: "expected an index such as [0] or a key such as ['name']" };
  if (digits.length > 1 && digits[0] === '0') return { error: 'an index has no leading zeros' };
  if (digits.length > String(MAX_PATH_INDEX).length) return { error: `an index is at most ${MAX_PATH_INDEX}` };
  return { step: Number(digits), next: end + 1 };
}

/** A quoted key: any text, with `\\` and the quote escaped by a backslash. */
function readQuoted(text: string, start: number, quote: string): Read {
  let key = '';
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      const n = text[i + 1];
      if (n !== '\\' && n !== quote) return { error: `only \\\\ and \\${quote} are escapes` };
      key += n;
      i++;
    } else if (c === quote) {
      if (text[i + 1] !== ']') return { error: `expected ] after the quoted key` };
      return { step: key, next: i + 2 };
    } else key += c;
  }
  return { error: 'unterminated quoted key' };
}

function makePath(text: string, steps: PathStep[]): CompiledPath {
  const frozen = Object.freeze(steps);
  const n = frozen.length;
  // The getter is the hot path of every mapped message: a loop over the steps, no allocation.
  const get = (root: unknown): unknown => {
    let node = root;
    for (let i = 0; i < n; i++) {
      const step = frozen[i];
      if (typeof step === 'number') {
        if (!Array.isArray(node) || step >= node.length) return undefined;
        node = node[step] as unknown;
      } else {
        if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, step)) return undefined;
        node = (node as Record<string, unknown>)[step];
      }
    }
    return node;
  };
  return Object.freeze({ text, steps: frozen, get });
}
