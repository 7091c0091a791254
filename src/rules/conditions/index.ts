/** Every `when` form's condition, by form (an explicit map rather than autoloading; house style §7). */
import type { When, WhenForm } from '../schema.js';
import { absent } from './absent.js';
import { all } from './all.js';
import { anomaly } from './anomaly.js';
import { eventCount } from './event-count.js';
import { event } from './event.js';
import { forecast } from './forecast.js';
import { missing } from './missing.js';
import { rate } from './rate.js';
import { schedule } from './schedule.js';
import { threshold } from './threshold.js';
import type { Condition } from './types.js';
import { usage } from './usage.js';

export const CONDITIONS: { readonly [F in WhenForm]: Condition<Extract<When, { form: F }>> } = {
  threshold,
  rate,
  event,
  'event-count': eventCount,
  absent,
  all,
  schedule,
  missing,
  usage,
  forecast,
  anomaly,
};

/** The condition of `when`'s form. */
export function conditionOf(when: When): Condition<When> {
  return CONDITIONS[when.form] as Condition<When>;
}
