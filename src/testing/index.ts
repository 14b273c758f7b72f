export { VirtualClock, type VirtualClockOptions } from './virtual-clock.js';
export { type Clock, type TimerHandle, systemClock } from '../core/clock.js';
