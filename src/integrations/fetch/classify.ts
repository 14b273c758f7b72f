/** Methods that RFC 9110 defines as idempotent: repeating them has the effect of sending them once. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

/** Statuses that say "try again later": timeout, too many requests, and the transient 5xx. */
export const TRANSIENT_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

// Error codes of connections that broke or never formed, from Node's net
// layer and from undici (Node's fetch), found on the error or its causes.
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

// What fetch rejects with when no response came, per runtime: undici (Node,
// Deno's and Bun's wording differ little), Chrome, Firefox, Safari, React Native.
const NETWORK_MESSAGES: ReadonlySet<string> = new Set([
  'fetch failed',
  'failed to fetch',
  'networkerror when attempting to fetch resource.',
  'load failed',
  'network request failed',
  'terminated',
]);

/** Causes are followed this deep, so a cyclic `cause` cannot loop. */
const MAX_CAUSES = 8;

/**
 * Whether `error` says the request never got a response because of the
 * network: a `TypeError` fetch rejects with for a failed connection, or an
 * error (or one of its causes) with a connection error code such as
 * `ECONNRESET` or `UND_ERR_SOCKET`. Programming errors (an invalid URL, a GET
 * with a body) are `TypeError`s too, but are not network errors.
 */
export function isNetworkError(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSES && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof TypeError && NETWORK_MESSAGES.has(error.message.toLowerCase());
}
