/**
 * Floor plans of the site files: an SVG or PNG beside the site file, inside the sites folder, whose size (the SVG's
 * viewBox or width and height, the PNG's pixels) gives the units device positions are written in (contract §12).
 * Read when the file loads; a plan that is missing, outside the folder or unreadable refuses the site file.
 */
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, resolve, sep } from 'node:path';

export type PlanType = 'svg' | 'png';

/** A plan as loaded: where its bytes are, what they are, and its size in its own units. */
export interface Plan {
  path: string;
  type: PlanType;
  width: number;
  height: number;
  /** Changes when the file does (its time and size): part of the plan's URL, so a browser never shows an old plan. */
  version: string;
}

export const PLAN_CONTENT_TYPES: Record<PlanType, string> = { svg: 'image/svg+xml', png: 'image/png' };

/** Plans larger than this are refused: the console downloads one each time a floor is shown. */
const MAX_PLAN_BYTES = 10 * 1024 * 1024;
/** The SVG root element is looked for in this much of the file (comments and a doctype may come first). */
const SVG_HEAD_BYTES = 64 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Reads the plan `rel` of the site file `siteFile` (both as the folder reader names them): resolved from the site
 * file's folder, and refused unless it stays inside `sitesDir` (symbolic links followed).
 */
export function readPlan(sitesDir: string, siteFile: string, rel: string): { ok: true; plan: Plan } | { ok: false; message: string } {
  let path: string;
  try {
    const root = realpathSync(sitesDir);
    path = realpathSync(resolve(dirname(resolve(siteFile)), rel));
    if (!path.startsWith(root + sep)) return { ok: false, message: `${rel} is outside the sites folder` };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, message: `${rel} does not exist` };
    return { ok: false, message: `${rel} cannot be read: ${(err as Error).message}` };
  }
  const ext = extname(path).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') return { ok: false, message: `${rel} must be an .svg or .png file` };
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { ok: false, message: `${rel} is not a file` };
    if (stat.size > MAX_PLAN_BYTES) return { ok: false, message: `${rel} is larger than 10 MB` };
    const head = readHead(path, ext === '.png' ? 24 : SVG_HEAD_BYTES);
    const size = ext === '.png' ? pngSize(head) : svgSize(head.toString('utf8'));
    if (typeof size === 'string') return { ok: false, message: `${rel}: ${size}` };
    const version = `${Math.round(stat.mtimeMs).toString(36)}-${stat.size.toString(36)}`;
    return { ok: true, plan: { path, type: ext === '.png' ? 'png' : 'svg', ...size, version } };
  } catch (err) {
    return { ok: false, message: `${rel} cannot be read: ${(err as Error).message}` };
  }
}

function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A PNG's pixels, from its IHDR chunk (always the first, right after the signature). */
export function pngSize(head: Buffer): { width: number; height: number } | string {
  if (head.length < 24 || !head.subarray(0, 8).equals(PNG_SIGNATURE) || head.toString('latin1', 12, 16) !== 'IHDR') return 'is not a PNG image';
  const width = head.readUInt32BE(16);
  const height = head.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : 'has no size';
}

/** An SVG's own units: its root's viewBox, else its width and height (plain numbers or px). */
export function svgSize(text: string): { width: number; height: number } | string {
  const root = /<svg\b([^>]*)>/i.exec(text.replace(/<!--[\s\S]*?-->/g, ''));
  if (!root) return 'is not an SVG image (no <svg> element)';
  const attr = (name: string) => new RegExp(`\\s${name}\\s*=\\s*["']([^"']*)["']`, 'i').exec(root[1])?.[1];
  const viewBox = attr('viewBox')?.trim().split(/[\s,]+/).map(Number);
  if (viewBox && viewBox.length === 4 && viewBox.every(Number.isFinite) && viewBox[2] > 0 && viewBox[3] > 0) return { width: viewBox[2], height: viewBox[3] };
  const length = (v: string | undefined) => (v !== undefined && /^\s*[0-9.]+\s*(px)?\s*$/.test(v) ? Number.parseFloat(v) : Number.NaN);
  const width = length(attr('width'));
  const height = length(attr('height'));
  if (width > 0 && height > 0) return { width, height };
  return 'has neither a viewBox nor a width and height in px';
}
