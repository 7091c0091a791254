// `npm run backup -- DIR`: a consistent copy of the gateway's state store, spool, rules, profiles and sites into
// DIR, while the gateway runs or not (docs/operations.md#backup-and-restore).
import { backupCommand } from '../src/backup/cli.js';

process.exitCode = await backupCommand(process.argv.slice(2));
