/**
 * `{ schedule: "<cron>" }`: fires on a node-cron schedule in site local time, once per site the rule covers;
 * the source is the rule. The next firing is computed by node-cron's own matcher and waited for on the
 * engine's clock, so the same code runs on real, fake (vitest) and virtual (simulateRule) time.
 * Firings missed while the gateway was down are not caught up.
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

export const schedule: Condition<ScheduleWhen> = {
  pulse: true,
  attach(ctx, when, onChange) {
    // Never started: it only parses the expression and matches dates; the engine's clock does the waiting.
    const task = cron.createTask(when.schedule, () => undefined, { timezone: ctx.timeZone, name: `rule:${ctx.rule}` });
    let cancel: Cancel | undefined;
    const arm = () => {
      cancel = ctx.clock.at(nextCronRun(task, ctx.clock.now()), fire);
    };
    const fire = () => {
      arm();
      const at = ctx.clock.now();
      for (const site of ctx.sites()) onChange({ holds: true, source: { id: ctx.rule, site }, at });
    };
    try {
      arm();
    } catch (err) {
      // An inline task (no script path) is destroyed synchronously; node-cron's promise is for background tasks.
      void task.destroy();
      throw err;
    }
    return () => {
      cancel?.();
      void task.destroy(); // synchronous for an inline task, as above
    };
  },
};
