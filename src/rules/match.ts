/** A rule's `match` (contract §6) as a predicate, compiled once: this runs for every message. */
import type { RuleDevice } from './actions.js';
import { render, type TemplateVars } from './template.js';
import type { CommandMatch, Match } from './schema.js';

/** What a message tells of its device. */
export interface Where {
  site: string;
  kind: string;
  zone: string;
  device: string;
}

/** A device's tags, looked up only for rules that match on tags. */
export type TagLookup = (device: string) => Record<string, string> | undefined;

type Check = (w: Where, tags: TagLookup) => boolean;

/** `b3-*` matches by prefix; anything else exactly. */
function zoneCheck(zones: string[]): Check {
  const exact = new Set(zones.filter((z) => !z.endsWith('*')));
  const prefixes = zones.filter((z) => z.endsWith('*')).map((z) => z.slice(0, -1));
  return (w) => exact.has(w.zone) || prefixes.some((p) => w.zone.startsWith(p));
}

/**
 * The predicate of `match`. With `kindIndexed` the kind is left out: the engine routes by kind already.
 * Without any other field it is `undefined`: every message of the indexed kinds matches.
 */
export function compileMatch(match: Match, kindIndexed = false): Check | undefined {
  const checks: Check[] = [];
  if (match.kind && !kindIndexed) {
    const kinds = new Set<string>(match.kind);
    checks.push((w) => kinds.has(w.kind));
  }
  if (match.site) {
    const sites = new Set(match.site);
    checks.push((w) => sites.has(w.site));
  }
  if (match.zone) checks.push(zoneCheck(match.zone));
  if (match.devices) {
    const devices = new Set(match.devices);
    checks.push((w) => devices.has(w.device));
  }
  if (match.tags) {
    const wanted = Object.entries(match.tags);
    checks.push((w, tags) => {
      const have = tags(w.device);
      return have !== undefined && wanted.every(([k, v]) => have[k] === v);
    });
  }
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (w, tags) => checks.every((c) => c(w, tags));
}

/** The registered devices `match` covers. */
export function devicesMatching(match: Match, devices: readonly RuleDevice[]): RuleDevice[] {
  const check = compileMatch(match);
  if (!check) return [...devices];
  return devices.filter((d) => check({ site: d.site, kind: d.kind, zone: d.zone, device: d.id }, () => d.tags));
}

/**
 * A command's target with its templates filled. Without a `site`, it stays in the triggering source's site:
 * zone names repeat across sites, and a fire in one must not unlock the doors of another.
 */
export function resolveCommandMatch(m: CommandMatch, vars: TemplateVars): Match {
  const fill = (list: CommandMatch['zone']) => list?.map((t) => render(t, vars));
  return {
    kind: m.kind,
    site: m.site ? fill(m.site) : vars.site ? [vars.site] : undefined,
    zone: fill(m.zone),
    devices: fill(m.devices),
    tags: m.tags ? Object.fromEntries(Object.entries(m.tags).map(([k, t]) => [k, render(t, vars)])) : undefined,
  };
}
