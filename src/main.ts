import { ConfigError, loadConfig, readEnvironment } from './config/env.js';
import { DataDirError, ListenError, TlsFileError } from './errors.js';
import { Gateway, type Started } from './gateway.js';
import { createLogger, logFormatFor } from './log.js';
import { IngestWorker } from './worker.js';

/** Entry point: configuration, the gateway, and a clean stop on SIGINT/SIGTERM (contract §8). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gateway: ${err.message}\n`);
    process.exit(1);
  }
  // Local times (an ISO `ts` without offset) follow TZ, also when it came from the .env file.
  process.env.TZ = config.timeZone;
  const log = createLogger(config.logLevel, undefined, logFormatFor(config.logFormat, process.stdout.isTTY === true));
  // BROKER_SHARE_GROUP makes this process an ingest worker (docs/scale-out.md).
  const gateway = config.role === 'ingest' ? new IngestWorker(config, log) : new Gateway(config, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'gateway stopping');
    const errors = await gateway.stop();
    log.info({ errors: errors.length }, 'gateway stopped');
    process.exit(errors.length === 0 ? 0 : 1);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // The last resort (docs/architecture.md, "Failure boundaries"): every unit of work has its own boundary, so
  // reaching these is a defect. A rejected promise leaves no state half-changed: log it and go on. A thrown
  // exception may have: log it and exit non-zero, for systemd or compose to start a clean process.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting for the supervisor to restart the gateway');
    process.exit(70);
  });
  try {
    const started = await gateway.start();
    process.stdout.write(
      `gateway: MQTT on port ${started.mqttPort}, MQTT over WebSocket on port ${started.wsPort}, HTTP on port ${started.httpPort}\n`,
    );
    // contract §15: the TLS listeners (an ingest worker has none); with PLAIN_LISTENERS=off the plain ports above are 0.
    const secure: Partial<Started> = started;
    if (secure.httpsPort) {
      process.stdout.write(
        `gateway: MQTT over TLS on port ${secure.mqttsPort}, MQTT over secure WebSocket on port ${secure.wssPort}, HTTPS on port ${secure.httpsPort}\n`,
      );
    }
    if (config.broker) {
      // The ports above are 0: with an external broker the gateway listens for no MQTT client of its own.
      const role = config.role === 'ingest' ? `ingest worker of share group ${config.broker.shareGroup}` : 'primary';
      process.stdout.write(`gateway: external MQTT broker ${config.broker.url} as ${config.broker.clientId} (${role})\n`);
    }
    if ('generatedAdminToken' in started && started.generatedAdminToken) {
      process.stdout.write(`gateway: ADMIN_TOKEN=${started.generatedAdminToken} (shown once: keep it safe)\n`);
    }
  } catch (err) {
    // A port that cannot be opened is the start's most common failure: one line naming the setting, no stack.
    // Likewise a data dir written by a newer release or held by another gateway: one line saying what to do.
    // And a TLS file that cannot be read or used: the setting and the file.
    if (err instanceof ListenError || err instanceof DataDirError || err instanceof TlsFileError) process.stderr.write(`gateway: ${err.message}\n`);
    else log.fatal({ err }, 'gateway failed to start');
    await gateway.stop();
    process.exit(1);
  }
}

await main();
