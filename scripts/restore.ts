// `npm run restore -- DIR`: puts a backup made by `npm run backup` back, with the gateway stopped; what it
// replaces is moved aside, never deleted (docs/operations.md#backup-and-restore).
import { restoreCommand } from '../src/backup/cli.js';

process.exitCode = await restoreCommand(process.argv.slice(2));
