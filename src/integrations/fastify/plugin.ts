import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import type { PolicyBase } from '../../core/policy.js';
import { checkKeys, checkObject, checkString, show } from '../../core/validate.js';
import { checkHealthInput, type HealthInput, health } from '../../health/health.js';
import { Exchange } from '../server/exchange.js';
import {
  checkServedPolicy,
  HEALTH_RESPONSE_OPTIONS,
  type HealthCodes,
  type HealthResponseOptions,
  healthCodes,
  SERVE_OPTIONS,
  type ServeConfig,
  type ServeOptions,
  serveConfig,
} from '../server/options.js';
import type { ErrorReply } from '../server/reply.js';

/** What `request.bulwark` holds. */
export interface BulwarkRequest {
  /**
   * Aborted when the client disconnects, when a timeout in the route's
   * policy passes, or on Fastify's `connectionTimeout`. Pass it to the work
   * the handler starts. On routes without a policy it is Fastify's own
   * `request.signal` (client disconnects only).
   */
  readonly signal: AbortSignal;
  /** The policy guarding this request, if any. */
  readonly policy: PolicyBase<any> | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `bulwark/fastify` plugin: the request's signal and policy. */
    readonly bulwark: BulwarkRequest;
  }
  interface FastifyContextConfig {
    /**
     * The `bulwark/fastify` policy guarding this route (instead of the
     * plugin's `policy`), or `false` for none (a health or metrics route).
     */
    bulwark?: PolicyBase<any> | false;
  }
}

/** The health route's options (or pass just its URL). */
export interface HealthRouteOptions extends HealthResponseOptions {
  /** The route's URL. Default `/health`. */
  url?: string;
  /**
   * The policies it reports on. Default: every policy the plugin guards
   * routes with (the plugin's `policy` and each route's `config.bulwark`).
   */
  policies?: HealthInput;
}

/** Options of the `bulwark/fastify` plugin. */
export interface BulwarkPluginOptions extends ServeOptions<FastifyRequest, FastifyReply> {
  /**
   * The policy guarding every route registered after the plugin, unless a
   * route sets its own `config.bulwark` (a policy, or `false` for none).
   * Default: none, only routes with `config.bulwark` are guarded.
   */
  policy?: PolicyBase<any>;
  /** Serves the policies' health report on GET (`'/health'` or `{ url, policies, ... }`); never guarded itself. */
  healthRoute?: string | HealthRouteOptions;
}

/** The option names the plugin accepts. */
export const BULWARK_PLUGIN_OPTIONS = [...SERVE_OPTIONS, 'policy', 'healthRoute'] as const;

/** The option names of `healthRoute` as an object. */
export const HEALTH_ROUTE_OPTIONS = ['url', 'policies', ...HEALTH_RESPONSE_OPTIONS] as const;

const OWNER = 'bulwark/fastify';
const EXCHANGE: unique symbol = Symbol('bulwark.exchange');
const UNGUARDED: unique symbol = Symbol('bulwark.unguarded');

interface Carrier {
  [EXCHANGE]?: FastifyExchange;
  [UNGUARDED]?: BulwarkRequest;
}

class FastifyExchange extends Exchange<FastifyRequest, FastifyReply> implements BulwarkRequest {
  constructor(
    cfg: ServeConfig<FastifyRequest, FastifyReply>,
    policy: PolicyBase<any>,
    request: FastifyRequest,
    reply: FastifyReply,
    private readonly done: HookHandlerDoneFunction,
  ) {
    super(cfg, policy, request, reply, undefined);
    const raw = reply.raw;
    raw.once('close', () => this.closed(raw.writableFinished));
  }

  protected proceed(): void {
    this.done();
  }

  protected fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (!this.entered) this.done(err);
    // Sending an error is how Fastify hands it to the error handler at any point of the request.
    else if (!this.gone && !this.headersSent) void this.res.send(err);
    // Too late for the error handler (the client left, or the handler's reply is on its way): the
    // request's log is where Fastify puts what happens to a request, so the error is not lost.
    else
      this.req.log.error({ err }, `${OWNER}: onReject failed after the response started or the client left`);
  }

  protected send(reply: ErrorReply): void {
    const res = this.res.code(reply.status);
    if (reply.retryAfter !== undefined) res.header('retry-after', String(reply.retryAfter));
    void res.send({ error: reply.code });
  }

  protected expose(): void {
    // `request.bulwark` reads this exchange's `signal` directly.
  }

  protected get headersSent(): boolean {
    return this.res.raw.headersSent;
  }

  protected get ended(): boolean {
    return this.res.raw.writableEnded;
  }

  protected get statusCode(): number {
    return this.res.raw.statusCode;
  }

  protected destroy(): void {
    this.res.raw.destroy();
  }
}

/** Appends `hook` to a route's own hooks of one kind (absent, one function, or a list). */
function withHook<H>(existing: H | H[] | undefined, hook: H): H[] {
  if (existing === undefined) return [hook];
  return Array.isArray(existing) ? [...existing, hook] : [existing, hook];
}

function connectionTimedOut(): DOMException {
  return new DOMException("The connection timed out (Fastify's connectionTimeout)", 'TimeoutError');
}

function onResponse(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  (request as Carrier)[EXCHANGE]?.finished();
  done();
}

function onTimeout(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  (request as Carrier)[EXCHANGE]?.disconnected(connectionTimedOut());
  done();
}

interface HealthRoute {
  readonly url: string;
  readonly policies: HealthInput | undefined;
  readonly codes: HealthCodes;
}

function healthRouteOf(value: unknown): HealthRoute | undefined {
  if (value === undefined) return undefined;
  const opts: HealthRouteOptions = typeof value === 'string' ? { url: value } : (value as HealthRouteOptions);
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`${OWNER}: healthRoute must be a URL or { url, policies }, got ${show(value)}`);
  }
  checkKeys(OWNER, opts, HEALTH_ROUTE_OPTIONS, 'healthRoute.');
  const url = checkString(OWNER, 'healthRoute.url', opts.url) ?? '/health';
  if (!url.startsWith('/'))
    throw new TypeError(`${OWNER}: healthRoute.url must start with "/", got ${show(url)}`);
  return {
    url,
    policies:
      opts.policies === undefined ? undefined : checkHealthInput(`${OWNER}: healthRoute`, opts.policies),
    codes: healthCodes(`${OWNER}: healthRoute`, opts),
  };
}

const bulwarkPlugin: FastifyPluginCallback<BulwarkPluginOptions> = (fastify, options, done) => {
  try {
    setUp(fastify, options);
  } catch (error) {
    // Bad options fail the registration (and `ready()`), the way Fastify reports plugin errors.
    done(error as Error);
    return;
  }
  done();
};

function setUp(fastify: FastifyInstance, options: BulwarkPluginOptions): void {
  checkObject(OWNER, 'options', options);
  checkKeys(OWNER, options, BULWARK_PLUGIN_OPTIONS);
  const cfg = serveConfig<FastifyRequest, FastifyReply>(OWNER, options);
  const fallbackPolicy =
    options.policy === undefined ? undefined : checkServedPolicy(OWNER, 'policy', options.policy);
  const route = healthRouteOf(options.healthRoute);
  // Every policy guarding some route: what the health route reports on by default.
  const guarding = new Set<PolicyBase<any>>();
  if (fallbackPolicy !== undefined) guarding.add(fallbackPolicy);

  fastify.decorateRequest('bulwark', {
    getter(this: FastifyRequest): BulwarkRequest {
      const carrier = this as Carrier;
      const exchange = carrier[EXCHANGE];
      if (exchange !== undefined) return exchange;
      // Unguarded: Fastify's own signal, created only if someone reads it.
      const request = this;
      carrier[UNGUARDED] ??= {
        get signal() {
          return request.signal;
        },
        policy: undefined,
      };
      return carrier[UNGUARDED];
    },
  });

  // Guarding per route, at registration: unguarded routes pay nothing per request.
  fastify.addHook('onRoute', (routeOptions: RouteOptions) => {
    const own = routeOptions.config?.bulwark;
    if (own === false) return;
    const policy =
      own === undefined
        ? fallbackPolicy
        : checkServedPolicy(
            OWNER,
            `config.bulwark of ${String(routeOptions.method)} ${routeOptions.url}`,
            own,
          );
    if (policy === undefined) return;
    guarding.add(policy);
    const admit = (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void => {
      const exchange = new FastifyExchange(cfg, policy, request, reply, next);
      (request as Carrier)[EXCHANGE] = exchange;
      exchange.run();
    };
    // Last of the route's own onRequest hooks: a request its auth hook turns away takes no slot.
    routeOptions.onRequest = withHook(routeOptions.onRequest, admit as never);
    routeOptions.onResponse = withHook(routeOptions.onResponse, onResponse as never);
    routeOptions.onTimeout = withHook(routeOptions.onTimeout, onTimeout as never);
  });

  if (route !== undefined) registerHealthRoute(fastify, route, guarding);
}

function registerHealthRoute(
  fastify: FastifyInstance,
  route: HealthRoute,
  guarding: Set<PolicyBase<any>>,
): void {
  fastify.route({
    method: 'GET',
    url: route.url,
    config: { bulwark: false },
    handler: (_request, reply) => {
      const report = health(route.policies ?? [...guarding]);
      return reply.code(route.codes[report.status]).header('cache-control', 'no-store').send(report);
    },
  });
}

/**
 * The Fastify 5 plugin of bulwark: guards routes with a policy, as `protect()`
 * does for Express. Admission policies (bulkhead, rate limit, adaptive
 * concurrency, throttle) hold their slot from `onRequest` until the response
 * finishes (`onResponse`), the client disconnects, or Fastify's connection
 * timeout hangs up (`onTimeout`). A timeout in the policy aborts
 * `request.bulwark.signal` and answers 503 if no response started.
 * Rejections answer 503 (429 for a rate limit) with `Retry-After` when the
 * error says how long to wait, and `{ "error": code }`.
 *
 * Register it before the routes it guards; set a route's policy with
 * `config: { bulwark: policy }` (or `false` for none).
 */
const fastifyBulwark = /* @__PURE__ */ fp(bulwarkPlugin, { fastify: '5.x', name: 'bulwark' });

export { fastifyBulwark };
export default fastifyBulwark;
