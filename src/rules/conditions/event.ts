/**
 * `{ event, where?, clearOn? }` per device: every matching event raises (a repeat while open bumps the
 * alarm's count, contract §4); it never clears by itself, only by the `clearOn` event from the same device.
 */
import type { EventWhen } from '../schema.js';
import { asSource, deviceSource, detailsMatch, savedEntries } from './common.js';
import type { Condition, EventMessage, Source } from './types.js';

export { EventSchema as schema } from '../schema.js';

const KEY = 'd:';

export const event: Condition<EventWhen> = {
  pulse: true,
  attach(ctx, when, onChange) {
    /** Devices raised and not yet cleared by `clearOn` (kept only when there is a `clearOn`). */
    const open = new Map<string, Source>();
    for (const [id, s] of savedEntries(ctx.state.initial, KEY)) {
      const src = asSource(s.src);
      if (src) open.set(id, src);
    }
    const clearOn = when.clearOn;
    const on = (m: EventMessage) => {
      const at = ctx.clock.now();
      if (m.type === when.event && detailsMatch(when.where, m.details)) {
        const src = deviceSource(m);
        if (clearOn && !open.has(m.device)) {
          open.set(m.device, src);
          ctx.state.set(KEY + m.device, { src });
        }
        onChange({ holds: true, source: src, at, trigger: m.device });
      } else if (clearOn && m.type === clearOn.event && detailsMatch(clearOn.where, m.details)) {
        const src = open.get(m.device);
        if (!src) return;
        open.delete(m.device);
        ctx.state.set(KEY + m.device, undefined);
        onChange({ holds: false, source: src, at, trigger: m.device });
      }
    };
    const types = clearOn ? [when.event, clearOn.event] : [when.event];
    return ctx.subscribe({ events: { types, on } });
  },
};
