import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvSchema } from '../../../src/config/env.js';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** The Dockerfile's instructions, continuation lines joined and comments dropped, with their stage (0, 1...). */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  for (const line of logical) {
    const [, keyword, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: args.replace(/\s+/g, ' '), stage });
  }
  return out;
}

const DOCKERFILE = instructions(read('Dockerfile'));
const README = read('README.md');
const of = (stage: number, keyword?: string) => DOCKERFILE.filter((i) => i.stage === stage && (!keyword || i.keyword === keyword));
const stageText = (stage: number) => of(stage).map((i) => `${i.keyword} ${i.args}`).join('\n');
const RUNTIME = 1;

/** The backticked terms of the README's image table row for `stage`, and its `from` column. */
function readmeRow(stage: 'build' | 'runtime'): { from: string; terms: string[] } {
  const row = README.split('\n').find((line) => line.startsWith(`| ${stage} |`));
  expect(row, `README table row "| ${stage} |"`).toBeDefined();
  const [, from, steps] = row!.split(' | ').map((c) => c.trim());
  return { from: from.replace(/`/g, ''), terms: [...steps.matchAll(/`([^`]+)`/g)].map((m) => m[1]) };
}

describe('the Dockerfile against the README', () => {
  it('shows the build command the Dockerfile names', () => {
    expect(README).toContain('docker build -t smart-community-gateway .');
    expect(read('Dockerfile')).toContain('docker build -t smart-community-gateway .');
  });

  it('has a build stage and a runtime stage on the base image the README names', () => {
    const froms = DOCKERFILE.filter((i) => i.keyword === 'FROM');
    expect(froms.map((f) => f.args)).toStrictEqual([`${readmeRow('build').from} AS build`, readmeRow('runtime').from]);
    expect(readmeRow('build').from).toBe('node:20-bookworm-slim');
  });

  it("runs the README's npm commands as the build stage's RUN steps, in that order", () => {
    const commands = readmeRow('build').terms.filter((t) => t.startsWith('npm '));
    expect(commands).toStrictEqual(['npm ci', 'npm run build', 'npm prune --omit=dev']);
    const runs = of(0, 'RUN').map((r) => r.args);
    expect(runs.filter((r) => r.startsWith('npm '))).toStrictEqual(commands);
  });

  it("has every other term of the README's build row in the build stage", () => {
    for (const term of readmeRow('build').terms) expect(stageText(0), term).toContain(term);
  });

  it("has every term of the README's runtime row in the runtime stage, and no compiler there", () => {
    for (const term of readmeRow('runtime').terms) expect(stageText(RUNTIME), term).toContain(term);
    expect(of(RUNTIME, 'USER').map((u) => u.args)).toStrictEqual(['node']);
    expect(stageText(RUNTIME)).not.toMatch(/apt-get|g\+\+|python3|npm (ci|install)/);
  });
});

describe('the runtime stage', () => {
  const workdir = of(RUNTIME, 'WORKDIR').at(-1)!.args;
  /** Where each COPY of the runtime stage puts its files, as absolute paths ending in `/` for folders. */
  const destinations = of(RUNTIME, 'COPY').map((c) => {
    const parts = c.args.split(' ').filter((p) => !p.startsWith('--'));
    return posix.resolve(workdir, parts.at(-1)!) + (parts.at(-1)!.endsWith('/') ? '/' : '');
  });

  it('puts console/ where the compiled console route looks for it', () => {
    const source = read('src/api/routes/console.ts');
    const [, relative] = /new URL\('([^']+)', import\.meta\.url\)/.exec(source) ?? [];
    expect(relative).toBeDefined();
    // src/api/routes/console.ts compiles to dist/api/routes/console.js.
    const compiled = new URL(`file://${workdir}/dist/api/routes/console.js`);
    const consoleDir = new URL(relative, compiled).pathname;
    expect(destinations).toContain(consoleDir);
    expect(destinations).toContain(`${workdir}/dist/`);
  });

  it('sets DATA_DIR to its volume, owned by the user it runs as, and RULES_DIR to the copied rules', () => {
    const env = Object.fromEntries(of(RUNTIME, 'ENV').flatMap((e) => e.args.split(' ').map((kv) => kv.split('='))));
    expect(env.DATA_DIR).toBe('/data');
    expect(of(RUNTIME, 'VOLUME').map((v) => v.args)).toStrictEqual([env.DATA_DIR]);
    expect(stageText(RUNTIME)).toContain(`chown node:node ${env.DATA_DIR}`);
    expect(destinations).toContain(`${env.RULES_DIR}/`);
  });

  it("exposes the gateway's default ports and starts it as npm start does", () => {
    const defaults = EnvSchema.parse({});
    const ports = [defaults.MQTT_PORT, defaults.MQTT_WS_PORT, defaults.HTTP_PORT, defaults.MQTTS_PORT, defaults.MQTT_WSS_PORT, defaults.HTTPS_PORT];
    expect(of(RUNTIME, 'EXPOSE').map((e) => e.args)).toStrictEqual([ports.join(' ')]);
    const cmd = JSON.parse(of(RUNTIME, 'CMD')[0].args) as string[];
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(cmd.join(' ')).toBe(pkg.scripts.start);
    expect(of(RUNTIME, 'STOPSIGNAL').map((s) => s.args)).toStrictEqual(['SIGTERM']);
  });

  it('checks its health with node against /health on HTTP_PORT, or HTTPS_PORT with the plain listeners off', () => {
    const [check] = of(RUNTIME, 'HEALTHCHECK');
    const exec = JSON.parse(check.args.slice(check.args.indexOf('CMD ') + 4)) as string[];
    expect(exec.slice(0, 2)).toStrictEqual(['node', '-e']);
    expect(exec[2]).toContain('/health');
    expect(exec[2]).toContain('process.env.HTTP_PORT');
    expect(exec[2]).toContain('process.env.HTTPS_PORT');
    expect(exec[2]).toContain('process.env.PLAIN_LISTENERS');
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps in the build context everything the Dockerfile copies from it', () => {
    const sources = DOCKERFILE.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
      .flatMap((c) => c.args.split(' ').slice(0, -1))
      .map((s) => s.replace(/\/$/, ''));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'rules', 'console']));
    for (const source of sources) expect(ignored, source).not.toContain(source);
  });

  it('copies what tsconfig.build.json compiles and extends', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { extends: string; include: string[] };
    const copied = DOCKERFILE.filter((i) => i.stage === 0 && i.keyword === 'COPY').flatMap((c) => c.args.split(' ').slice(0, -1));
    expect(copied).toContain('tsconfig.build.json');
    expect(copied).toContain(posix.normalize(build.extends));
    for (const dir of build.include) expect(copied).toContain(`${dir}/`);
  });

  it('leaves out local state, secrets and build output', () => {
    for (const entry of ['.git', '.env', 'node_modules', 'dist', 'data']) expect(ignored).toContain(entry);
  });
});
