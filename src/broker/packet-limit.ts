import type { Client } from 'aedes';

/**
 * The largest MQTT packet the embedded broker reads from an authenticated client. Ingest refuses a payload
 * above 64 KB with a reason the device can read (contract §2); a packet beyond this closes the connection.
 */
export const MAX_PACKET_BYTES = 2 * 1024 * 1024;

/** Before CONNECT is accepted: a client id, a user name, a password and a will fit easily. */
export const MAX_CONNECT_BYTES = 64 * 1024;

/** mqtt-packet's parser inside an aedes client, which neither package exposes. */
interface PacketParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

/**
 * Refuses a packet whose fixed header declares more than `max` bytes (`MAX_CONNECT_BYTES` until the client is
 * connected), as soon as the length is read. aedes 1.x
 * has no such limit: it buffers whatever length a header declares, before CONNECT has even been authenticated,
 * so three connections declaring 200 MB each could take the gateway's memory. The parser's error closes the
 * connection, as [MQTT-4.8.0-1] asks of a malformed packet. Answers false when this aedes version's client has
 * no parser to limit (the caller says so at start).
 */
export function limitPacketSize(client: Client, max: number, refused: () => void): boolean {
  const parser = (client as unknown as { _parser?: Partial<PacketParser> })._parser;
  if (typeof parser?._parseLength !== 'function' || typeof parser._emitError !== 'function') return false;
  const p = parser as PacketParser;
  const parseLength = p._parseLength.bind(p);
  p._parseLength = () => {
    if (!parseLength()) return false;
    const limit = client.connected ? max : Math.min(max, MAX_CONNECT_BYTES);
    if (p.packet.length <= limit) return true;
    refused();
    p._emitError(new Error(`packet of ${p.packet.length} bytes is larger than ${limit}`));
    return false;
  };
  return true;
}
