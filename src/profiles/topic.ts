/**
 * A profile's topic templates (contract §10): `acme/{device}/status`, where `{device}` is the registered device
 * id and fills a whole topic level, and, in command topics only, `{params.x}`. Compiled at load into levels, so
 * matching an incoming topic and building a subscription filter are plain comparisons.
 */

/** One level of a compiled topic: literal text, the device, or (command topics) a parameter. */
export type TopicLevel = { text: string } | { device: true } | { param: string };

/** A compiled topic template. */
export interface CompiledTopic {
  readonly text: string;
  readonly levels: readonly TopicLevel[];
  /** Whether a level is `{device}`. */
  readonly hasDevice: boolean;
  /** The MQTT filter matching every device's topic (`acme/+/status`); `{params.x}` levels become `+` too. */
  readonly filter: string;
}

export interface TopicRules {
  /** The gateway's own base (`sc`): a profile topic must not start with it, nor with `$` (MQTT-4.7.2-1). */
  base: string;
  /** Whether `{params.x}` levels are allowed (command topics). */
  params: boolean;
}

const MAX_TOPIC_LENGTH = 512;
const PLACEHOLDER_RE = /\{[^{}]*\}/;
const PARAM_RE = /^\{params\.([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Compiles a topic template; answers it or why it is refused. */
export function compileTopic(text: string, rules: TopicRules): { ok: true; topic: CompiledTopic } | { ok: false; error: string } {
  const refuse = (why: string) => ({ ok: false as const, error: `${JSON.stringify(text)}: ${why}` });
  if (text.length === 0 || text.length > MAX_TOPIC_LENGTH) return refuse(`must be 1 to ${MAX_TOPIC_LENGTH} characters`);
  if (text.includes('+') || text.includes('#')) return refuse('must not use the wildcards + or #');
  if (text.startsWith('$')) return refuse('must not start with $ (reserved by the broker)');
  if (text === rules.base || text.startsWith(`${rules.base}/`)) return refuse(`must not be under the gateway's own ${rules.base}/`);
  // eslint-disable-next-line no-control-regex -- control characters (NUL above all, MQTT-1.5.4-2) are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text)) return refuse('must not contain control characters');
  const levels: TopicLevel[] = [];
  let hasDevice = false;
  for (const level of text.split('/')) {
    if (level === '{device}') {
      if (hasDevice) return refuse('names {device} twice');
      hasDevice = true;
      levels.push({ device: true });
      continue;
    }
    const param = PARAM_RE.exec(level);
    if (param && rules.params) {
      levels.push({ param: param[1] });
      continue;
    }
    if (PLACEHOLDER_RE.test(level) || level.includes('{') || level.includes('}')) {
      const allowed = rules.params ? '{device} or {params.name}' : '{device}';
      return refuse(`a placeholder must be a whole topic level, and one of ${allowed}`);
    }
    levels.push({ text: level });
  }
  const filter = levels.map((l) => ('text' in l ? l.text : '+')).join('/');
  return { ok: true, topic: Object.freeze({ text, levels: Object.freeze(levels), hasDevice, filter }) };
}

/**
 * The device an incoming topic names through `template`, '' for a matching template without `{device}`, or
 * undefined when the topic does not match. Allocates nothing but the split.
 */
export function matchTopic(template: CompiledTopic, topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts.length !== template.levels.length) return undefined;
  let device = '';
  for (let i = 0; i < parts.length; i++) {
    const level = template.levels[i];
    if ('text' in level) {
      if (level.text !== parts[i]) return undefined;
    } else if ('device' in level) {
      if (parts[i] === '') return undefined;
      device = parts[i];
    } else return undefined;
  }
  return device;
}

/** Why a value cannot fill a topic level, or undefined when it can (no injected levels or wildcards). */
export function levelProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (/[/+#]/.test(value)) return 'must not contain /, + or #';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  return undefined;
}
