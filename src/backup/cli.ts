import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, readEnvironment } from '../config/env.js';
import { runBackup, BackupError } from './backup.js';
import { runRestore } from './restore.js';

/**
 * `npm run backup -- DIR` and `npm run restore -- DIR` (scripts/backup.ts, scripts/restore.ts), or in the image
 * `node dist/backup/cli.js backup|restore DIR`: the gateway's settings read as the gateway reads them (the
 * environment over `.env`), progress on stdout, one line naming the problem on stderr, exit code 1 on failure.
 */
export async function backupCommand(args: readonly string[]): Promise<number> {
  return command('backup', args, async (config, dir, progress) => {
    await runBackup({ config, dir, release: releaseVersion(), progress });
  });
}

export async function restoreCommand(args: readonly string[]): Promise<number> {
  // --data-only: DATA_DIR alone, where the rules, profiles and sites folders are not the restore's to replace
  // (baked into an image, or kept in version control).
  const dataOnly = args.includes('--data-only');
  return command('restore', args.filter((a) => a !== '--data-only'), async (config, dir, progress) => {
    await runRestore({ config, dir, progress, dataOnly });
  });
}

type Action = (config: ReturnType<typeof loadConfig>, dir: string, progress: (line: string) => void) => Promise<void>;

async function command(name: 'backup' | 'restore', args: readonly string[], action: Action): Promise<number> {
  const say = (line: string) => process.stdout.write(`${name}: ${line}\n`);
  const fail = (line: string) => process.stderr.write(`${name}: error: ${line}\n`);
  if (args.length !== 1 || args[0].startsWith('-')) {
    fail(
      name === 'backup'
        ? 'usage: npm run backup -- DIR (a new or empty directory to write the backup into)'
        : 'usage: npm run restore -- [--data-only] DIR (a directory written by npm run backup)',
    );
    return 2;
  }
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    fail(err.message);
    return 1;
  }
  try {
    await action(config, args[0], say);
    return 0;
  } catch (err) {
    // A BackupError is the person's to fix and says how; anything else is reported with its cause.
    if (err instanceof BackupError) fail(err.message);
    else fail(`${(err as Error).message ?? String(err)}${(err as Error).cause ? ` (${String((err as Error).cause)})` : ''}`);
    return 1;
  }
}

/** package.json's version: two levels up from src/backup/ and from dist/backup/ alike. */
function releaseVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

// Run directly (the compiled image has no tsx): `node dist/backup/cli.js backup DIR`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [which, ...rest] = process.argv.slice(2);
  const run = which === 'backup' ? backupCommand : which === 'restore' ? restoreCommand : undefined;
  if (!run) {
    process.stderr.write('usage: node dist/backup/cli.js backup|restore DIR\n');
    process.exitCode = 2;
  } else {
    process.exitCode = await run(rest);
  }
}
