import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changesJson, isSecretField, MAX_CHANGES_BYTES } from '../../../src/audit/redact.js';
import { AuditTrail } from '../../../src/audit/trail.js';
import { Failures } from '../../../src/failures.js';
import { Metrics } from '../../../src/metrics.js';
import { StateStore } from '../../../src/storage/state/store.js';
import { recordingLogger } from '../rules/harness.js';

describe('what the trail keeps of a body', () => {
  it('drops every secret-looking field at any depth and keeps the rest', () => {
    const body = {
      name: 'Night desk',
      password: 'p',
      token: 't',
      apiKey: 'k',
      nested: { clientSecret: 's', list: [{ Authorization: 'Bearer x', zone: 'b1' }], passphrase: 'q' },
      tokenId: 'tok-1',
    };
    expect(JSON.parse(changesJson(body)!)).toStrictEqual({ name: 'Night desk', nested: { list: [{ zone: 'b1' }] }, tokenId: 'tok-1' });
  });

  it('treats ids as references, not secrets', () => {
    expect(isSecretField('tokenId')).toBe(false);
    expect(isSecretField('token')).toBe(true);
    expect(isSecretField('secret_hash')).toBe(true);
  });

  it('keeps nothing of an empty body, and only the field names of a huge one', () => {
    expect(changesJson({})).toBeUndefined();
    expect(changesJson({ password: 'only a secret' })).toBeUndefined();
    const huge = JSON.parse(changesJson({ rules: 'x'.repeat(MAX_CHANGES_BYTES), site: 'a' })!);
    expect(huge).toStrictEqual({ truncated: true, bytes: expect.any(Number), fields: ['rules', 'site'] });
  });
});

describe('AuditTrail', () => {
  let dir: string;
  let store: StateStore;
  let now: number;
  let metrics: Metrics;
  let logged: ReturnType<typeof recordingLogger>;
  let trail: AuditTrail;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audit-'));
    store = new StateStore(dir);
    store.open();
    now = Date.parse('2026-03-01T00:00:00Z');
    metrics = new Metrics();
    logged = recordingLogger();
    trail = new AuditTrail({
      db: () => store.db,
      log: logged.log,
      failures: new Failures(metrics, logged.log),
      metrics,
      retentionMs: 86_400_000,
      pruneBatch: 100,
      now: () => now,
    });
  });
  afterEach(async () => {
    await trail.stop();
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers newest first with exact and prefix actions', () => {
    trail.record({ actor: 'a', source: '10.0.0.1', action: 'alarm.acknowledge', target: 'alm-1', site: 's' });
    now += 1000;
    trail.record({ actor: 'a', source: '10.0.0.1', action: 'alarm.clear', target: 'alm-1', site: 's' });
    trail.record({ actor: 'b', source: '10.0.0.2', action: 'alarmist', target: 'x' });
    expect(trail.query({ action: 'alarm.' }).map((r) => r.action)).toStrictEqual(['alarm.clear', 'alarm.acknowledge']);
    expect(trail.query({ action: 'alarm.clear' })).toStrictEqual([
      { id: 2, at: '2026-03-01T00:00:01.000Z', actor: 'a', source: '10.0.0.1', action: 'alarm.clear', target: 'alm-1', site: 's' },
    ]);
    expect(metrics.value('gateway_audit_records_total', { action: 'alarm.clear' })).toBe(1);
  });

  it("shows an operator their sites' records, the shared folders' and their own, nothing else", () => {
    trail.record({ actor: 'x', source: 'h', action: 'alarm.clear', site: 'mine' });
    trail.record({ actor: 'x', source: 'h', action: 'alarm.clear', site: 'theirs' });
    trail.record({ actor: 'system', source: 'file', action: 'rules.reload', target: '/rules' });
    trail.record({ actor: 'admin', source: 'h', action: 'operator.create', target: 'opr-1' });
    trail.record({ actor: 'me', source: 'h', action: 'login' });
    const seen = trail.query({ sites: ['mine'], self: 'me' }).map((r) => `${r.actor} ${r.action} ${r.site ?? ''}`);
    expect(seen).toStrictEqual(['me login ', 'system rules.reload ', 'x alarm.clear mine']);
  });

  it('never throws into the caller when the store is gone, and keeps the record in the log', () => {
    store.close();
    expect(() => trail.record({ actor: 'Desk', source: '10.0.0.9', action: 'alarm.acknowledge', target: 'alm-9', changes: { note: 'n', password: 'p' } })).not.toThrow();
    expect(metrics.value('gateway_message_failures_total', { stage: 'audit' })).toBe(1);
    const line = logged.records.find((r) => r.msg === 'audit record not stored; kept in the log');
    expect(line?.record).toStrictEqual({ at: '2026-03-01T00:00:00.000Z', actor: 'Desk', source: '10.0.0.9', action: 'alarm.acknowledge', target: 'alm-9', changes: '{"note":"n"}' });
  });

  it('prunes what is older than the retention in batches, letting the event loop run between them', async () => {
    const insert = store.db.prepare("INSERT INTO audit (at, actor, source, action) VALUES (?, 'a', 'h', 'login')");
    store.db.transaction(() => {
      for (let i = 0; i < 1050; i++) insert.run(now - 2 * 86_400_000 + i);
    })();
    trail.record({ actor: 'a', source: 'h', action: 'login' });
    const pruning = trail.prune();
    // Other work runs while the prune is under way: it has not deleted everything yet.
    await new Promise<void>((resolve) => setImmediate(() => resolve()));
    expect(trail.query({ limit: 1000 }).length).toBeGreaterThan(1);
    expect(await pruning).toBe(1050);
    expect(trail.query()).toHaveLength(1);
  });
});
