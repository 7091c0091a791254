import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';

/** The folders a backup holds, each named as the setting that says where it goes back. */
export const FOLDERS = { data: 'DATA_DIR', rules: 'RULES_DIR', profiles: 'PROFILES_DIR', sites: 'SITES_DIR' } as const;
export type Folder = keyof typeof FOLDERS;

const FileEntrySchema = z.object({
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

/** `manifest.json` of a backup: what made it, the state store's schema, and every file with its size and hash. */
export const ManifestSchema = z.object({
  format: z.literal(1),
  release: z.string(),
  schemaVersion: z.number().int().min(0),
  createdAt: z.string(),
  gatewayRunning: z.boolean(),
  folders: z.array(z.enum(['data', 'rules', 'profiles', 'sites'])),
  from: z.record(z.string(), z.string()),
  files: z.array(FileEntrySchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** sha256 of a file, streamed: a spool segment may be tens of MB. */
export async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file under `root` (paths with `/`, sorted), with its size and hash; the manifest itself left out. */
export async function listFiles(root: string, rel = ''): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (path === MANIFEST_FILE) continue;
    if (entry.isDirectory()) out.push(...(await listFiles(root, path)));
    else out.push({ path, bytes: (await stat(join(root, path))).size, sha256: await sha256(join(root, path)) });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Reads and checks `DIR/manifest.json`; throws naming what is wrong. */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${dir} has no ${MANIFEST_FILE}: it is not a backup, or the backup did not finish`, { cause: err });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${join(dir, MANIFEST_FILE)} is not JSON`, { cause: err });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${join(dir, MANIFEST_FILE)}: ${issue.path.join('.') || 'manifest'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The differences between the files in `dir` and its manifest: a file missing, changed (size or sha256) or not
 * listed. Empty when the backup is whole.
 */
export async function verifyFiles(dir: string, manifest: Manifest): Promise<string[]> {
  const found = new Map((await listFiles(dir)).map((f) => [f.path, f]));
  const problems: string[] = [];
  for (const want of manifest.files) {
    const got = found.get(want.path);
    found.delete(want.path);
    if (!got) problems.push(`${want.path} is missing`);
    else if (got.bytes !== want.bytes) problems.push(`${want.path} has ${got.bytes} bytes, the manifest says ${want.bytes}`);
    else if (got.sha256 !== want.sha256) problems.push(`${want.path} does not match its sha256 in the manifest`);
  }
  for (const extra of found.keys()) problems.push(`${extra} is not in the manifest`);
  return problems;
}
