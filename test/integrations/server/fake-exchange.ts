// A socket-free Exchange for the server tests: a response reduced to the flags the exchange reads.
import type { PolicyBase } from '../../../src/core/policy.js';
import { Exchange } from '../../../src/integrations/server/exchange.js';
import { type ServeOptions, serveConfig } from '../../../src/integrations/server/options.js';
import type { ErrorReply } from '../../../src/integrations/server/reply.js';

/** A response reduced to flags the exchange reads, and a log of what the exchange did. */
export class FakeExchange extends Exchange<string, string> {
  log: string[] = [];
  sent = false;
  ended_ = false;
  status = 200;

  constructor(
    policy: PolicyBase<any>,
    options: ServeOptions<string, string> = {},
    outerSignal: AbortSignal | undefined = undefined,
  ) {
    super(serveConfig('test', options), policy, 'req', 'res', outerSignal);
  }
  protected proceed(): void {
    this.log.push('proceed');
  }
  protected fail(error: unknown): void {
    this.log.push(`fail ${(error as Error).message}`);
  }
  protected send(reply: ErrorReply): void {
    this.sent = true;
    this.log.push(`send ${reply.status} ${reply.code}`);
  }
  protected expose(): void {}
  protected get headersSent(): boolean {
    return this.sent;
  }
  protected get ended(): boolean {
    return this.ended_;
  }
  protected get statusCode(): number {
    return this.status;
  }
  protected destroy(): void {
    this.log.push('destroy');
  }
}
