import { open, rename } from 'node:fs/promises';

/** Files that must survive a crash once written: used by the disk queue, the upstream counters and the report files. */

/** fsync a directory, so a newly created or renamed file's entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `text` to `<path>.tmp`, syncs it and renames it over `path`: a reader sees the old file or the new
 * one, never half of one. The rename itself is durable only once the caller syncs the directory (`syncDir`).
 */
export async function writeSynced(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
