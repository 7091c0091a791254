/**
 * JSON numbers beyond a double's range (`1e400`) parse to ±Infinity: a value no sensor measures, that
 * InfluxDB cannot store and that JSON cannot write back. Every input that holds one is refused, with a
 * reason that names the field (contract §2), wherever it enters.
 */

/** The reason given for a non-finite number at `path`. */
export function notFinite(path: string): string {
  return `${path}: must be a finite number`;
}

interface Frame {
  node: unknown;
  key: string;
  parent?: Frame;
}

/**
 * The dotted path of the first non-finite number in a parsed JSON value (`''` for the value itself), or
 * undefined when there is none. Iterative, and the path is built only when one is found, so a deeply
 * nested payload costs neither stack nor quadratic memory.
 */
export function firstNonFinite(value: unknown): string | undefined {
  const stack: Frame[] = [{ node: value, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { node } = frame;
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) return pathOf(frame);
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ node: node[i], key: String(i), parent: frame });
    } else if (typeof node === 'object' && node !== null) {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ node: (node as Record<string, unknown>)[keys[i]], key: keys[i], parent: frame });
    }
  }
  return undefined;
}

function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) keys.push(f.key);
  return keys.reverse().join('.');
}
