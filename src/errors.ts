/** Every error code the gateway answers with, listed once (house style §3). */
export const ERROR_CODES = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  illegal_transition: 409,
  payload_too_large: 413,
  /** The login throttle refuses a source's unknown tokens for a while (contract §15). */
  too_many_requests: 429,
  storage_unavailable: 503,
  shutting_down: 503,
  broker_unavailable: 503,
  timeout: 504,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code and the HTTP status it maps to. */
export class GatewayError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.statusCode = ERROR_CODES[code];
  }
}

export class ValidationError extends GatewayError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('validation_failed', field ? `${field}: ${message}` : message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends GatewayError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${JSON.stringify(id)} does not exist`);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends GatewayError {
  constructor(message: string) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}

/**
 * A listener that could not open its port at start (in use, or not allowed): names the setting, so the one line
 * printed tells the person starting the gateway what to change (issue 17).
 */
export class ListenError extends Error {
  constructor(
    readonly setting: string,
    readonly port: number,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why =
      code === 'EADDRINUSE'
        ? `port ${port} is in use (${setting}); stop what holds it or set ${setting} to another port`
        : code === 'EACCES'
          ? `port ${port} may not be opened by this user (${setting}); set ${setting} to a port above 1023`
          : `port ${port} could not be opened (${setting}): ${(cause as Error | undefined)?.message ?? String(cause)}`;
    super(why, { cause });
    this.name = 'ListenError';
  }
}

/**
 * A TLS file (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE) that cannot be read or used at start: names the setting
 * and the file, so the one line printed tells the person starting the gateway what to fix (contract §15).
 */
export class TlsFileError extends Error {
  constructor(
    readonly setting: string,
    readonly file: string,
    problem: string,
    cause: unknown,
  ) {
    super(`${setting}: ${file} ${problem}`, { cause });
    this.name = 'TlsFileError';
  }
}

/**
 * A data directory the gateway must not use as it is: written by a newer release, or held by another running
 * gateway. Its one line names the directory and what to do (docs/operations.md#upgrades-and-downgrades).
 */
export class DataDirError extends Error {
  constructor(
    readonly dataDir: string,
    problem: string,
  ) {
    super(`DATA_DIR ${dataDir}: ${problem}`);
    this.name = 'DataDirError';
  }
}
