import { open, readFile, readdir, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** The file-level half of the disk queue: segment names, scanning, reading and the cursor file. */

const SCAN_BLOCK = 8 * 1024 * 1024;
/** `NNNNNNNNNN` + a suffix such as `.lp` or `.jsonl`. */
export const SEGMENT_NAME = /^(\d{10})(\.[A-Za-z0-9.]+)$/;
export const CURSOR_FILE = 'cursor.json';
export const NEWLINE = 0x0a;

/** Where replay has got to: a segment and a byte offset in it (always at a line boundary). */
export interface Cursor {
  segment: number;
  offset: number;
}

/** A segment file found on disk: its sequence number and its name. */
export interface SegmentFile {
  seq: number;
  name: string;
}

/** The file name of segment `seq`: 10 digits, so names sort as numbers do. */
export function segmentName(seq: number, suffix: string): string {
  return `${String(seq).padStart(10, '0')}${suffix}`;
}

/**
 * The segment files in `dir` with one of `suffixes`, oldest first. Throws when two files share a sequence
 * number: the cursor names a segment by its number alone, so which one it points into would be a guess.
 */
export async function listSegments(dir: string, suffixes: readonly string[]): Promise<SegmentFile[]> {
  const found: SegmentFile[] = [];
  for (const name of await readdir(dir)) {
    const m = SEGMENT_NAME.exec(name);
    if (m && suffixes.includes(m[2])) found.push({ seq: Number(m[1]), name });
  }
  found.sort((a, b) => a.seq - b.seq);
  const clash = found.find((f, i) => i > 0 && found[i - 1].seq === f.seq);
  if (clash) throw new Error(`${dir} holds two segments numbered ${clash.seq}; move one of them away`);
  return found;
}

/** Newlines in `buf[0, end)`: one per line, since every line ends with one. */
export function countLines(buf: Buffer, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE); i !== -1 && i < end; i = buf.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/**
 * Counts the lines after `from` in big blocks and truncates a torn tail (bytes after the last newline,
 * left by a crash in the middle of a write). `size` is the file's length afterwards.
 */
export async function scanSegment(path: string, from: number): Promise<{ size: number; lines: number; tornBytes: number }> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.allocUnsafe(Math.min(SCAN_BLOCK, Math.max(size - from, 1)));
    let lines = 0;
    let end = Math.min(from, size);
    for (let pos = from; pos < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) break;
      const last = buf.lastIndexOf(NEWLINE, bytesRead - 1);
      if (last !== -1) end = pos + last + 1;
      lines += countLines(buf, bytesRead);
      pos += bytesRead;
    }
    if (end < size) await fh.truncate(end);
    return { size: end, lines, tornBytes: size - end };
  } finally {
    await fh.close();
  }
}

/** `length` bytes at `position`, or undefined when the file is gone (the bound dropped it). */
export async function readBytes(path: string, position: number, length: number): Promise<Buffer | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Atomic via write-tmp + rename. Not fsynced: a lost cursor only makes replay repeat lines, which every user
 * of the queue tolerates (InfluxDB overwrites a repeated point; headquarters drops a repeated seq).
 */
export async function writeCursor(dir: string, cursor: Cursor): Promise<void> {
  const file = join(dir, CURSOR_FILE);
  await writeFile(`${file}.tmp`, JSON.stringify(cursor));
  await rename(`${file}.tmp`, file);
}

/** The saved cursor; `invalid` holds the text of an unreadable one; both undefined when there is none. */
export async function readCursor(dir: string): Promise<{ cursor?: Cursor; invalid?: string }> {
  let text: string;
  try {
    text = await readFile(join(dir, CURSOR_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const c = JSON.parse(text) as Partial<Cursor>;
    if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset)) return { cursor: c as Cursor };
  } catch {
    // Falls through to `invalid`: the caller replays from the oldest segment and says so.
  }
  return { invalid: text.slice(0, 100) };
}
