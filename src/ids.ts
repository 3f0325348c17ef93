import { randomBytes } from 'node:crypto';

/**
 * Application ids sort by creation time (12 base-32 digits of milliseconds, then 80 random bits), so
 * lexical listing pages in creation order and cursors stay stable.
 */
export function newApplicationId(now = Date.now()): string {
  return `app_${now.toString(32).padStart(12, '0')}${randomBytes(10).toString('hex')}`;
}

/** 128 random bits: unguessable and collision-free for generated client ids. */
export function newClientId(): string {
  return randomBytes(16).toString('base64url');
}

/** 256 random bits, enough for HS256 client-secret JWTs as well as client_secret_basic. */
export function newClientSecret(): string {
  return randomBytes(32).toString('base64url');
}
