// Shared by the configuration tests.

/** What a call ended with, as a value: a test can await it without an unhandled rejection. */
export function settle<T>(call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Work that fails at once. */
export const fail = () => Promise.reject(new Error('down'));
