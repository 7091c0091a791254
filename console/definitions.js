// The gateway's definitions (GET /api/definitions, docs/api.md): kinds, severities, priorities, work-order
// statuses and transitions. Read once after sign-in, before any page shows; the console keeps no copy of its own.
import { get } from './api.js';

let loaded;

/** Fetches the definitions of the gateway signed in to. */
export async function loadDefinitions() {
  loaded = await get('/api/definitions');
  return loaded;
}

/** The definitions document; the shell renders no page before it is loaded. */
export function defs() {
  if (!loaded) throw new Error('the definitions are not loaded yet');
  return loaded;
}

/** Uses definitions kept from an earlier sign-in (console/offline.js) while the gateway cannot be reached. */
export function useDefinitions(doc) {
  loaded = doc;
}
