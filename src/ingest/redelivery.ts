import { createHash } from 'node:crypto';

/** Failed hand-offs remembered at most; beyond, the oldest is forgotten (its resend then reaches the rules again). */
const MAX_REMEMBERED = 10_000;

/**
 * QoS 1 messages whose durable hand-off failed (neither InfluxDB nor the spool took them): their connection was
 * closed unacknowledged, so the device sends them again with the same packet id [MQTT-4.4.0-1]. The rules saw
 * the first delivery; remembering it here lets the resend be stored without reaching them a second time
 * (docs/architecture.md, "When the rules see a message").
 */
export class FailedHandoffs {
  private readonly entries = new Map<string, string>();

  /** Remembers a message whose hand-off failed. */
  remember(device: string, messageId: number, payload: Buffer): void {
    const key = `${device}\u0000${messageId}`;
    this.entries.delete(key);
    if (this.entries.size >= MAX_REMEMBERED) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, digest(payload));
  }

  /** True, once, for the resend of a remembered message: the same device, packet id and payload. */
  isResend(device: string, messageId: number, payload: Buffer): boolean {
    if (this.entries.size === 0) return false;
    const key = `${device}\u0000${messageId}`;
    const known = this.entries.get(key);
    if (known === undefined) return false;
    this.entries.delete(key);
    return known === digest(payload);
  }
}

function digest(payload: Buffer): string {
  return createHash('sha256').update(payload).digest('base64');
}
