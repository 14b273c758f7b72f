// Public surface of `bulwark/config`: re-exports only.
export {
  registry,
  validateConfig,
  Registry,
  REGISTRY_OPTIONS,
  type RegistryOptions,
  type RegistryEvents,
} from './registry.js';
export { PipelineHandle, type PipelineHandleEvents, type ConfiguredPolicies } from './handle.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export { DEFAULT_ORDER, type LayerKey } from './order.js';
export { parseDuration, type Duration } from './duration.js';
export { CODE_ONLY_OPTIONS } from './sections.js';
export type {
  AdaptiveConcurrencyConfig,
  BackoffConfig,
  BulkheadConfig,
  ChaosConfig,
  CircuitBreakerConfig,
  CodeConfig,
  CodePipelineOptions,
  FallbackConfig,
  HedgeConfig,
  JsonValue,
  KeyableKey,
  KeyedConfig,
  PipelineConfig,
  RateLimitConfig,
  RegistryConfig,
  RetryBudgetConfig,
  RetryConfig,
  ThrottleConfig,
  TimeoutConfig,
} from './types.js';
