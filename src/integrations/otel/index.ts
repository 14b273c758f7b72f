// Public surface of `bulwark/otel`: re-exports only. Depends on
// `@opentelemetry/api` alone (an optional peer dependency of this entry); no
// Node-only module may be imported from here.
export {
  instrument,
  InstrumentedPipeline,
  INSTRUMENT_OPTIONS,
  INSTRUMENT_SPANS_OPTIONS,
  type InstrumentOptions,
  type InstrumentSpans,
} from './instrument.js';
export { METRIC_NAMES, ATTRIBUTE_NAMES, EVENT_DETAIL_PREFIX } from './names.js';
export { errorType } from './attributes.js';
export { BREAKER_STATE_VALUES, HEALTH_VALUES } from './gauges.js';
export { DURATION_BUCKETS } from './recorder.js';
