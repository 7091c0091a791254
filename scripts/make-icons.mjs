// Draws the console's app icons (console/icons/*.png) with Node alone: a house with an alarm light on the header's
// dark blue. Run once after changing the drawing (`node scripts/make-icons.mjs`) and commit the PNGs.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const BG = [17, 24, 39];
const HOUSE = [255, 255, 255];
const LIGHT = [198, 40, 40];

/** What colour the point (u, v) in 0..1 of the glyph's box is, or undefined for the background. */
function glyph(u, v) {
  const inLight = (u - 0.5) ** 2 + (v - 0.56) ** 2 < 0.1 ** 2;
  if (inLight) return LIGHT;
  const roof = v >= 0.08 && v <= 0.42 && Math.abs(u - 0.5) <= (v - 0.08) * 1.35;
  const walls = u >= 0.2 && u <= 0.8 && v > 0.4 && v <= 0.9;
  return roof || walls ? HOUSE : undefined;
}

/** RGBA pixels of a `size` icon; `safe` is the share of the side the glyph may use (maskable icons: 0.6). */
function draw(size, safe, rounded) {
  const px = Buffer.alloc(size * size * 4);
  const pad = (1 - safe) / 2;
  const S = 4; // samples per pixel side: smooth edges
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const fx = (x + (sx + 0.5) / S) / size;
          const fy = (y + (sy + 0.5) / S) / size;
          // A rounded square for the plain icon; the maskable one fills the whole square (the system cuts it).
          const c = 0.18;
          const dx = Math.max(c - fx, 0, fx - (1 - c));
          const dy = Math.max(c - fy, 0, fy - (1 - c));
          if (rounded && dx * dx + dy * dy > c * c) continue;
          const col = glyph((fx - pad) / safe, (fy - pad) / safe) ?? BG;
          r += col[0]; g += col[1]; b += col[2]; a += 255;
        }
      }
      const n = S * S;
      px.set([r / n, g / n, b / n, a / n].map(Math.round), (y * size + x) * 4);
    }
  }
  return px;
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const byte of buf) c = CRC[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG (8-bit RGBA, no filter) of square pixels. */
function png(size, px) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) px.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

for (const [name, size, safe, rounded] of [
  ['icon-192.png', 192, 0.72, true],
  ['icon-512.png', 512, 0.72, true],
  ['maskable-192.png', 192, 0.56, false],
  ['maskable-512.png', 512, 0.56, false],
  ['apple-touch-icon.png', 180, 0.7, false],
]) {
  writeFileSync(new URL(`../console/icons/${name}`, import.meta.url), png(size, draw(size, safe, rounded)));
}
