import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Publish } from '../topics.js';

/** Mosquitto's dynamic-security plugin takes JSON commands here (mosquitto `plugins/dynamic-security/README.md`). */
export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
/** ...and answers the sending client here, one response message per command message. */
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

/** One command, e.g. `{ command: 'createClient', username, password, roles }`. */
export interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}

/** The plugin's answer to one command: `error` is set when it failed ("Client already exists", ...). */
export interface DynsecResponse {
  command: string;
  error?: string;
  data?: Record<string, unknown>;
  correlationData?: string;
}

/** An ACL of a role as the plugin writes it. */
export interface DynsecAcl {
  acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern' | 'unsubscribeLiteral' | 'unsubscribePattern';
  topic: string;
  allow: boolean;
  priority?: number;
}

interface Pending {
  resolve(responses: DynsecResponse[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Request/response with the dynamic-security plugin over MQTT (z2m `bridge.ts` style): each command message
 * carries a fresh `correlationData`, which the plugin echoes in every response of that message.
 */
export class DynsecClient {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly publish: Publish,
    /** Whether the link to the broker is up: a command sent while it is down would wait in mqtt.js's queue. */
    private readonly linkUp: () => boolean,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Sends `commands` in one message; resolves with their responses in the same order. Rejects with
   * `broker_unavailable` when the link is down or the broker does not answer within the timeout.
   */
  send(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    if (!this.linkUp()) return Promise.reject(new GatewayError('broker_unavailable', 'the link to the MQTT broker is down'));
    const id = randomUUID();
    const body = JSON.stringify({ commands: commands.map((c) => ({ ...c, correlationData: id })) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new GatewayError('broker_unavailable', `the MQTT broker did not answer ${commands[0]?.command ?? 'a command'} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.publish(DYNSEC_TOPIC, body, { qos: 1 }).catch((err: unknown) => {
        if (!this.drop(id)) return;
        // MQTT 5 §3.4.2.1 PUBACK reason code 135: the account may not publish there, i.e. it is no dynamic-security admin.
        const refused = (err as { code?: unknown }).code === 135;
        const message = refused
          ? 'the MQTT broker refused a dynamic-security command: BROKER_USERNAME must be a dynsec admin (mosquitto_ctrl dynsec init)'
          : 'the command could not be sent to the MQTT broker';
        reject(new GatewayError('broker_unavailable', message, { cause: err }));
      });
    });
  }

  /** Sends without waiting for the answer: for a change that makes the broker disconnect the gateway itself. */
  fire(commands: DynsecCommand[]): void {
    this.publish(DYNSEC_TOPIC, JSON.stringify({ commands }), { qos: 1 }).catch((err: unknown) =>
      this.log.debug({ err }, 'dynsec command not acknowledged'),
    );
  }

  /** A message on the response topic. */
  handleResponse(payload: Buffer): void {
    let responses: DynsecResponse[];
    try {
      responses = (JSON.parse(payload.toString('utf8')) as { responses: DynsecResponse[] }).responses;
    } catch (err) {
      this.log.warn({ err }, 'dynsec response is not JSON');
      return;
    }
    const id = responses?.[0]?.correlationData;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return; // an answer to a fire(), or one that timed out
    this.drop(id);
    p.resolve(responses);
  }

  /** Rejects every command still waiting. */
  stop(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayError('shutting_down', 'the gateway stopped before the broker answered'));
      this.pending.delete(id);
    }
  }

  private drop(id: string): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(id);
    return true;
  }
}

/** Throws when a response says the command failed, except for the errors listed as harmless. */
export function check(response: DynsecResponse | undefined, harmless: readonly string[] = []): DynsecResponse {
  if (!response) throw new GatewayError('broker_unavailable', 'the MQTT broker answered fewer commands than it was sent');
  if (response.error && !harmless.includes(response.error)) {
    throw new GatewayError('broker_unavailable', `the MQTT broker refused ${response.command}: ${response.error}`);
  }
  return response;
}
