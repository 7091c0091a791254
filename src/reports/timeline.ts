/** On/off timelines (online, in normal mode) and the time they are all on: the pure part of the lift figures. */

/** A state that holds from `at` until the next step of its timeline. */
export interface Step {
  at: number;
  on: boolean;
}

/**
 * The ms of [start, end) during which every timeline is on. A timeline's steps are in time order; its state at an
 * instant is that of its last step at or before it, and off before its first step (nothing known is not on).
 */
export function allOnMs(start: number, end: number, timelines: Step[][]): number {
  if (end <= start) return 0;
  const cuts = new Set<number>([start]);
  for (const steps of timelines) for (const s of steps) if (s.at > start && s.at < end) cuts.add(s.at);
  const times = [...cuts].sort((a, b) => a - b);
  const next = timelines.map(() => 0);
  const state = timelines.map(() => false);
  let onMs = 0;
  times.forEach((t, i) => {
    // Advance each timeline to its last step at or before t.
    timelines.forEach((steps, j) => {
      while (next[j] < steps.length && steps[next[j]].at <= t) state[j] = steps[next[j]++].on;
    });
    if (state.every(Boolean)) onMs += (times[i + 1] ?? end) - t;
  });
  return onMs;
}
