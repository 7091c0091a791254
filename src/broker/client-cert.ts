import { TLSSocket } from 'node:tls';
import type { Client } from 'aedes';

/** DEVICE_CERT_AUTH (contract §15): whether a device may, or must, log in with its client certificate. */
export type DeviceCertAuth = 'off' | 'optional' | 'required';

/**
 * The TLS socket under a connection: the connection itself for MQTT over TLS, the upgraded HTTPS request's
 * socket for MQTT over secure WebSocket; undefined for a plain connection.
 */
export function tlsSocketOf(client: Client): TLSSocket | undefined {
  if (client.conn instanceof TLSSocket) return client.conn;
  const socket = client.req?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

/**
 * The names a connection's client certificate vouches for: its subject CN, then its DNS subject alternative
 * names; undefined when it presented none, or one TLS_CA_FILE did not sign (or expired): only a certificate the
 * handshake verified (`socket.authorized`) names anybody.
 */
export function verifiedCertNames(client: Client): string[] | undefined {
  const socket = tlsSocketOf(client);
  if (!socket?.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN as string | string[] | undefined;
  const names = [...(Array.isArray(cn) ? cn : cn ? [cn] : []), ...dnsNames(cert.subjectaltname)];
  return [...new Set(names)];
}

/** `DNS:a, DNS:b, IP Address:1.2.3.4` → `a`, `b`. A quoted entry (Node quotes unusual characters) is no device id. */
function dnsNames(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  return subjectaltname
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4))
    .filter((name) => !name.startsWith('"'));
}
