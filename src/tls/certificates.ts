import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type Server as TlsServer, type TlsOptions } from 'node:tls';
import { TlsFileError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

/** The TLS_* files (docs/security.md#tls): PEM certificate chain, its key, and the CA of device certificates. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
  /** Device client certificates are asked for (DEVICE_CERT_AUTH optional or required). */
  requestCert: boolean;
  /** How often the files are read again to see whether they changed. */
  reloadIntervalMs: number;
}

/** What the TLS listeners take from the certificates: options for a new server, and a server to keep current. */
export interface TlsServing {
  /**
   * The options of a new TLS server: the current certificate, key and client CA. `clientCerts: false` (HTTPS)
   * asks for no client certificate, so a browser prompts for none.
   */
  serverOptions(clientCerts?: boolean): TlsOptions;
  /** Gives `server` each new certificate from now on, until it closes. */
  track(server: TlsServer): void;
}

/** How long a client may take over its TLS handshake: ample for a slow device, short for an idle socket. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The served certificate, as logged and counted. */
export interface CertificateInfo {
  subject: string;
  validTo: string;
  fingerprint256: string;
}

interface Loaded {
  options: TlsOptions;
  info: CertificateInfo;
  /** Digest of the files' contents: a change of any is a new certificate to try. */
  digest: string;
}

/**
 * The gateway's certificate (contract §15): loaded at start (a missing or invalid file stops the start, naming
 * it), then read again every `reloadIntervalMs`; when the files changed and form a valid pair again, every TLS
 * server gets the new secure context, so new connections see the new certificate without a restart. A file
 * caught half-written (or a certificate replaced before its key) keeps the old context, logged once per change.
 */
export class TlsCertificates implements TlsServing {
  readonly name = 'tls';
  private current?: Loaded;
  /** The digest of the files last refused, so a refusal is logged once, not at every read. */
  private refusedDigest?: string;
  private timer?: NodeJS.Timeout;
  private checking = false;
  private readonly servers = new Set<TlsServer>();

  constructor(
    private readonly files: TlsFiles,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  async start(): Promise<void> {
    const read = await this.readFiles();
    this.current = this.load(read.texts, read.digest);
    this.log.info({ ...this.current.info }, 'tls certificate loaded');
    this.metrics.gauge('gateway_tls_certificate_expiry_days', 'Days until the served TLS certificate expires', () =>
      this.current ? (Date.parse(this.current.info.validTo) - Date.now()) / 86_400_000 : 0,
    );
    this.timer = setInterval(() => void this.check(), this.files.reloadIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.servers.clear();
  }

  serverOptions(clientCerts = true): TlsOptions {
    if (!this.current) throw new Error('tls certificates are not loaded');
    return { ...this.current.options, requestCert: clientCerts && this.files.requestCert };
  }

  track(server: TlsServer): void {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
  }

  /** The certificate served now. */
  get info(): CertificateInfo | undefined {
    return this.current?.info;
  }

  /** Reads the files again; a changed, valid set replaces the context of every server. */
  async check(): Promise<void> {
    if (this.checking || !this.current) return;
    this.checking = true;
    try {
      const read = await this.readFiles().catch((err: unknown) => ({ err }));
      if ('err' in read) return this.refused(`unreadable:${(read.err as Error).message}`, read.err);
      if (read.digest === this.current.digest || read.digest === this.refusedDigest) return;
      let next: Loaded;
      try {
        next = this.load(read.texts, read.digest);
      } catch (err) {
        return this.refused(read.digest, err);
      }
      for (const server of this.servers) server.setSecureContext(next.options);
      this.current = next;
      this.refusedDigest = undefined;
      this.log.info({ ...next.info, servers: this.servers.size }, 'tls certificate reloaded');
    } finally {
      this.checking = false;
    }
  }

  /** Logs once per refused set of files; the old certificate stays. */
  private refused(digest: string, err: unknown): void {
    if (digest === this.refusedDigest) return;
    this.refusedDigest = digest;
    this.log.warn({ err, certFile: this.files.certFile, keyFile: this.files.keyFile }, 'tls certificate files not usable; keeping the old certificate');
  }

  private async readFiles(): Promise<{ texts: { cert: Buffer; key: Buffer; ca?: Buffer }; digest: string }> {
    const { certFile, keyFile, caFile } = this.files;
    const readOne = (file: string, setting: string) =>
      readFile(file).catch((err: unknown) => {
        throw new TlsFileError(setting, file, `cannot be read: ${(err as Error).message}`, err);
      });
    const cert = await readOne(certFile, 'TLS_CERT_FILE');
    const key = await readOne(keyFile, 'TLS_KEY_FILE');
    const ca = caFile ? await readOne(caFile, 'TLS_CA_FILE') : undefined;
    const hash = createHash('sha256').update(cert).update('\0').update(key);
    if (ca) hash.update('\0').update(ca);
    return { texts: { cert, key, ca }, digest: hash.digest('hex') };
  }

  /** Checks the files form a usable context (each problem names its file) and answers the server options. */
  private load(texts: { cert: Buffer; key: Buffer; ca?: Buffer }, digest: string): Loaded {
    const { certFile, keyFile, caFile, requestCert } = this.files;
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(texts.cert);
    } catch (err) {
      throw new TlsFileError('TLS_CERT_FILE', certFile, 'is not a PEM certificate', err);
    }
    if (texts.ca) {
      try {
        new X509Certificate(texts.ca);
      } catch (err) {
        throw new TlsFileError('TLS_CA_FILE', caFile ?? '', 'is not a PEM certificate', err);
      }
    }
    const options: TlsOptions = {
      cert: texts.cert,
      key: texts.key,
      ...(texts.ca && { ca: texts.ca }),
      // Devices present certificates signed by TLS_CA_FILE; the broker's authenticate decides what an unverified
      // one means (socket.authorized), so a handshake without one still completes and gets a clear CONNACK.
      requestCert,
      rejectUnauthorized: false,
      // A connection that has not finished its handshake in this time is closed (Node's default is 120 s).
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    };
    try {
      createSecureContext(options);
    } catch (err) {
      throw new TlsFileError('TLS_KEY_FILE', keyFile, `does not fit the certificate of ${certFile}: ${(err as Error).message}`, err);
    }
    return { options, digest, info: { subject: leaf.subject.replace(/\n/g, ', '), validTo: new Date(leaf.validTo).toISOString(), fingerprint256: leaf.fingerprint256 } };
  }
}
