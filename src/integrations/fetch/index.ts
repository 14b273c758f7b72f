// Public surface of `bulwark/fetch`: re-exports only. No Node-only module may be
// imported from here: this entry runs in browsers, Deno, Bun and workers.
export {
  resilientFetch,
  RESILIENT_FETCH_OPTIONS,
  type ResilientFetch,
  type ResilientFetchOptions,
  type FetchFunction,
  type FetchInput,
} from './resilient-fetch.js';
export { isNetworkError, IDEMPOTENT_METHODS, TRANSIENT_STATUSES } from './classify.js';
export { parseRetryAfter } from './retry-after.js';
