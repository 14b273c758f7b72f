import type { ExecutionContext } from '../../src/core/context.js';
import { LayerMode, PolicyBase } from '../../src/core/policy.js';

/**
 * A test layer that records its steps in a shared log, e.g. `enter a`,
 * `success a`, `failure a <message>`. Options make its steps fail.
 */
export class Recorder extends PolicyBase {
  constructor(
    readonly label: string,
    readonly log: string[],
    private readonly behaviour: {
      enter?: 'throw' | 'reject' | 'async';
      exit?: 'throw';
      replaceError?: unknown;
    } = {},
  ) {
    super('recorder', label);
  }

  override _enter(_ctx: ExecutionContext): unknown {
    this.log.push(`enter ${this.label}`);
    if (this.behaviour.enter === 'throw') throw new Error(`enter ${this.label} failed`);
    if (this.behaviour.enter === 'reject') return Promise.reject(new Error(`enter ${this.label} rejected`));
    if (this.behaviour.enter === 'async') return Promise.resolve(`token ${this.label}`);
    return `token ${this.label}`;
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    this.log.push(`success ${this.label} ${String(token)}`);
    if (this.behaviour.exit === 'throw') throw new Error(`exit ${this.label} failed`);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    this.log.push(`failure ${this.label} ${String(token)} ${(error as Error).message}`);
    if (this.behaviour.exit === 'throw') throw new Error(`exit ${this.label} failed`);
    return super._failure(ctx, token, this.behaviour.replaceError ?? error);
  }
}

/** A test layer that takes over the inner work (`Around` mode) and logs around it. */
export class Around extends PolicyBase {
  constructor(
    readonly label: string,
    readonly log: string[],
  ) {
    super('around', label);
    this._mode = LayerMode.Around;
  }

  override async _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    this.log.push(`around ${this.label} start`);
    try {
      return await next(ctx);
    } finally {
      this.log.push(`around ${this.label} end`);
    }
  }
}
