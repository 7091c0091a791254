/**
 * The operators' roles (contract §15), in order: each may do everything the ones before it may. Here rather
 * than in the API's access table so the operator registry, which stores them, needs nothing of the API.
 */
export const ROLES = ['viewer', 'guard', 'maintenance', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `held` is at least `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
