import { describe, expect, it } from 'vitest';
import { accessOf, allowedRoutes, ROLES, ROUTE_ACCESS, roleAllows } from '../../../src/api/access.js';
import { guardMayNotSilence } from '../../../src/api/routes/incidents.js';

describe('the access table', () => {
  it('orders the roles, each allowing what the ones before it allow', () => {
    expect(ROLES).toStrictEqual(['viewer', 'guard', 'maintenance', 'supervisor', 'admin']);
    expect(roleAllows('supervisor', 'guard')).toBe(true);
    expect(roleAllows('guard', 'maintenance')).toBe(false);
    expect(roleAllows('admin', 'admin')).toBe(true);
  });

  it('knows nothing of a route it does not name, nor of object keys', () => {
    expect(accessOf('GET', '/api/nothing')).toBeUndefined();
    expect(accessOf('GET', undefined)).toBeUndefined();
    expect(accessOf('constructor', '')).toBeUndefined();
  });

  it('lists for each role the changes it may make, more for each role up', () => {
    const counts = ROLES.map((r) => allowedRoutes(r).length);
    expect(counts).toStrictEqual([...counts].sort((a, b) => a - b));
    expect(allowedRoutes('viewer')).toStrictEqual([]);
    expect(allowedRoutes('guard')).toStrictEqual(['DELETE /api/silences/:id', 'POST /api/alarms/:id/ack', 'POST /api/silences']);
    expect(allowedRoutes('admin')).toStrictEqual(Object.keys(ROUTE_ACCESS).filter((k) => !k.startsWith('GET ')).sort());
  });
});

describe('what a guard may silence', () => {
  const now = Date.parse('2025-11-04T10:00:00Z');
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  const kinds: Record<string, string> = { 'smoke-1': 'fire', 'lamp-1': 'lighting' };
  const check = (match: Record<string, unknown>, minutes: number, extra: Record<string, unknown> = {}) =>
    guardMayNotSilence({ site: 's', match, to: at(minutes), reason: 'r', ...extra }, (d) => kinds[d], now);

  it('allows a non-life-safety silence of an hour at most', () => {
    expect(check({ zone: 'b1' }, 60)).toBeUndefined();
    expect(check({ devices: ['lamp-1', 'unknown-1'] }, 30)).toBeUndefined();
    expect(check({ kind: 'lighting', type: 'lamp_failure' }, 10)).toBeUndefined();
  });

  it('counts the hour from a later start', () => {
    expect(check({ zone: 'b1' }, 120, { from: at(60) })).toBeUndefined();
    expect(check({ zone: 'b1' }, 121, { from: at(60) })).toBe('this one is longer');
  });

  it('refuses life-safety kinds, types, devices and fire tests', () => {
    expect(check({ zone: 'b1' }, 61)).toBe('this one is longer');
    expect(check({ kind: 'sos' }, 10)).toBe('kind sos raises life-safety alarms');
    expect(check({ type: 'emergency_call' }, 10)).toBe('type emergency_call is a life-safety alarm');
    expect(check({ devices: ['lamp-1', 'smoke-1'] }, 10)).toBe('device smoke-1 is of kind fire');
    expect(check({ zone: 'b1' }, 10, { fireTest: true })).toBe('fireTest is set');
  });
});
