/**
 * Operator roles and what each may do. `admin` may do everything (including `enrollment:admin`:
 * making, listing and revoking agent enrollment tokens, and `keys:admin`: operators' API keys);
 * `operator` sends, cancels and reads;
 * `auditor` only reads.
 */
export const PERMISSIONS = ['commands:read', 'commands:send', 'commands:cancel', 'audit:read', 'agents:read', 'agents:write', 'enrollment:admin', 'keys:admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = {
  admin: new Set<Permission>(PERMISSIONS),
  operator: new Set<Permission>(['commands:read', 'commands:send', 'commands:cancel', 'audit:read', 'agents:read']),
  auditor: new Set<Permission>(['commands:read', 'audit:read', 'agents:read']),
} as const;
export type Role = keyof typeof ROLES;

export function isRole(value: string): value is Role {
  return Object.hasOwn(ROLES, value);
}

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLES[role].has(permission);
}
