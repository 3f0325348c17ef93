import { expect } from 'vitest';

/** An HTTP answer as supertest (or a raw request) gives it. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly text: string;
  readonly body: unknown;
}

/** The error shape of the management API, exactly: JSON `{ error, error_description }`, nothing else. */
export function expectErrorShape(answer: Answer, context = ''): void {
  expect(answer.headers['content-type'], `${context}: ${answer.text.slice(0, 200)}`).toMatch(/^application\/json/);
  expect(answer.body, `${context}: ${answer.text.slice(0, 200)}`).toEqual({
    error: expect.any(String),
    error_description: expect.any(String),
  });
}

/** A management API error of `status` (or one of several) with the code `error` (or one of several), in that shape. */
export function expectError(
  answer: Answer,
  status: number | readonly number[],
  error: string | readonly string[],
  context = '',
): void {
  const statuses = typeof status === 'number' ? [status] : status;
  const errors = typeof error === 'string' ? [error] : error;
  expect(statuses, `${context} answered ${answer.status} ${answer.text.slice(0, 300)}`).toContain(answer.status);
  expectErrorShape(answer, context);
  expect(errors, `${context} answered ${answer.text.slice(0, 300)}`).toContain(
    (answer.body as { error: string }).error,
  );
}

/**
 * An error of the provider's own endpoints (token, introspection, registration): `status` and the code
 * `error`; oidc-provider may add fields of its own (`scope` to an invalid_scope).
 */
export function expectOAuthError(answer: Answer, status: number, error: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect((answer.body as { error?: unknown }).error).toBe(error);
}
