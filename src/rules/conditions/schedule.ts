/**
 * `{ schedule: "<cron>" }`: fires on a node-cron schedule in site local time, once per site the rule covers;
 * the source is the rule. The next firing is computed by node-cron's own matcher and waited for on the
 * engine's clock, so the same code runs on real, fake (vitest) and virtual (simulateRule) time.
 *
 * contract §15, missed schedules: the rule's state says up to when its firings are accounted for (each firing, a
 * heartbeat every minute, its detach). At the gateway's start, a rule whose schedule came due after that fires once
 * per site, late, with the last due time it missed, however long the downtime. A rule new since, or whose schedule
 * changed, has nothing to catch up; nor has a reload. A crash within a second of a firing may repeat it once, late.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { ScheduleWhen } from '../schema.js';
import type { Cancel } from '../clock.js';
import type { Condition } from './types.js';

export { ScheduleSchema as schema } from '../schema.js';

/** node-cron's matcher, which its tasks hold but do not type (4.x `InlineScheduledTask.timeMatcher`). */
interface TimeMatcher {
  getNextMatch(date: Date): Date;
}

/**
 * The first time after `from` that `expression` matches in `timeZone`. node-cron answers that only from the
 * wall clock (`getNextRuns`); a task's matcher answers it from any date, which virtual time needs.
 */
export function nextCronRun(task: ScheduledTask, from: number): number {
  const matcher = (task as unknown as { timeMatcher?: TimeMatcher }).timeMatcher;
  if (typeof matcher?.getNextMatch !== 'function') throw new Error('node-cron no longer exposes its time matcher; see rules/conditions/schedule.ts');
  return matcher.getNextMatch(new Date(from)).getTime();
}

/**
 * The last time after `from` and at most `to` that the task's expression matches; undefined when none does.
 * A binary search over "the next match after t is still at most `to`", which holds up to the answer and not
 * after: some forty look-ups however long the gap, where walking match by match could take millions.
 */
export function lastCronRunBetween(task: ScheduledTask, from: number, to: number): number | undefined {
  if (nextCronRun(task, from) > to) return undefined;
  let lo = from;
  let hi = to;
  // Cron's finest unit is the second: a window narrower than that holds one match at most.
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2);
    if (nextCronRun(task, mid) <= to) lo = mid;
    else hi = mid;
  }
  return nextCronRun(task, lo);
}

/** What a schedule rule keeps in its state: its expression, and up to when its firings are accounted for. */
interface Accounted {
  cron: string;
  upTo: number;
}

const ACCOUNTED = 'schedule';
/** How often a running schedule says it is still running (its state's `upTo`). */
export const SCHEDULE_HEARTBEAT_MS = 60_000;

export const schedule: Condition<ScheduleWhen> = {
  pulse: true,
  attach(ctx, when, onChange) {
    // Never started: it only parses the expression and matches dates; the engine's clock does the waiting.
    const task = cron.createTask(when.schedule, () => undefined, { timezone: ctx.timeZone, name: `rule:${ctx.rule}` });
    const cancels: Array<Cancel | undefined> = [];
    const account = (upTo: number) => ctx.state.set(ACCOUNTED, { cron: when.schedule, upTo } satisfies Accounted);
    const emit = (at: number, due?: number) => {
      for (const site of ctx.sites()) onChange({ holds: true, source: { id: ctx.rule, site }, at, ...(due !== undefined && { detail: { due } }) });
    };
    const arm = () => {
      cancels[0] = ctx.clock.at(nextCronRun(task, ctx.clock.now()), fire);
    };
    const fire = () => {
      arm();
      const at = ctx.clock.now();
      account(at);
      emit(at);
    };
    const beat = () => {
      account(ctx.clock.now());
      cancels[1] = ctx.clock.at(ctx.clock.now() + SCHEDULE_HEARTBEAT_MS, beat);
    };
    try {
      const now = ctx.clock.now();
      const before = ctx.state.initial.get(ACCOUNTED) as Accounted | undefined;
      const missed = ctx.resumed && before?.cron === when.schedule ? lastCronRunBetween(task, before.upTo, now) : undefined;
      arm();
      beat();
      // On the engine's clock, not inside attach: the rule is attached when its late firing acts.
      if (missed !== undefined) cancels[2] = ctx.clock.at(now, () => emit(ctx.clock.now(), missed));
    } catch (err) {
      // An inline task (no script path) is destroyed synchronously; node-cron's promise is for background tasks.
      void task.destroy();
      throw err;
    }
    return () => {
      for (const cancel of cancels) cancel?.();
      account(ctx.clock.now());
      void task.destroy(); // synchronous for an inline task, as above
    };
  },
};
