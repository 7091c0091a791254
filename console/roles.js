// What the signed-in person's role lets them do, as `GET /api/me` tells it (`role`, and `allowed`: every non-GET
// `METHOD url` route key the role may call, as src/api/access.ts names them). The pages hide what is not allowed;
// the API refuses it anyway (403 naming the role needed), so this is a courtesy, never the guard.
import { store } from './store.js';

/** The roles in order: each may do everything the ones before it may (src/api/access.ts ROLES). */
export const ROLES = ['viewer', 'guard', 'maintenance', 'supervisor', 'admin'];

/** How long a guard may silence alarms (contract §15: non-life-safety alarms, up to an hour). */
export const GUARD_SILENCE_MAX_MS = 3_600_000;

/** The signed-in person's role (`admin` for the admin token); undefined before sign-in. */
export function role() {
  return store.me?.role;
}

/**
 * Whether the role may call a route, by its key (`'POST /api/alarms/:id/ack'`). A gateway that does not list what a
 * role may do (no `allowed`, before roles existed) allows everything, as it did then.
 */
export function can(route) {
  const allowed = store.me?.allowed;
  return !Array.isArray(allowed) || allowed.includes(route);
}

/** Whether the role is at least `needed` (`'supervisor'`): for pages that only read (the audit trail). */
export function atLeast(needed) {
  const held = ROLES.indexOf(role());
  // A role this console does not know (an older gateway's `operator`) gets no page it could not read there either.
  return held >= 0 && held >= ROLES.indexOf(needed);
}

/** Whether the role's silences are held to non-life-safety alarms and an hour (a guard's). */
export function limitedSilences() {
  return role() === 'guard';
}
