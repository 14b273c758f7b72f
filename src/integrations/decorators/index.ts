// Public surface of `bulwark/decorators`: re-exports only.
export {
  resilient,
  RESILIENT_OPTIONS,
  type Resilient,
  type ResilientDecorator,
  type ResilientOptions,
  type PolicySource,
  type ExecutablePolicy,
  type Promised,
} from './resilient.js';
export type { Context } from '../../core/context.js';
