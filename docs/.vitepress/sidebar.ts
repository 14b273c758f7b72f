// The site's navigation, kept apart from the VitePress config (and free of imports) so that a test
// can check that every page of docs/ is reachable from it.

/** A link of the sidebar. */
export interface NavItem {
  text: string;
  link: string;
}

/** A titled group of links. */
export interface NavGroup {
  text: string;
  collapsed?: boolean;
  items: NavItem[];
}

/** The hand-written pages, by group. Links are page paths without `.md`, from docs/. */
export const sidebar: NavGroup[] = [
  {
    text: 'Guide',
    items: [
      { text: 'Getting started', link: '/getting-started' },
      { text: 'Policies, pipelines, context', link: '/pipeline-and-context' },
      { text: 'Composition order', link: '/composition-order' },
      { text: 'Recommended configuration', link: '/recommended-config' },
      { text: 'Testing with the virtual clock', link: '/testing' },
      { text: 'FAQ', link: '/faq' },
    ],
  },
  {
    text: 'Strategies',
    items: [
      { text: 'Retry and backoff', link: '/retry' },
      { text: 'Timeout', link: '/timeout' },
      { text: 'Fallback', link: '/fallback' },
      { text: 'Circuit breaker', link: '/circuit-breaker' },
      { text: 'Bulkhead', link: '/bulkhead' },
      { text: 'Rate limit', link: '/rate-limit' },
      { text: 'Hedge', link: '/hedge' },
      { text: 'Retry budget', link: '/retry-budget' },
      { text: 'Throttle', link: '/throttle' },
      { text: 'Adaptive concurrency', link: '/adaptive-concurrency' },
      { text: 'Keyed policies', link: '/keyed' },
      { text: 'Chaos', link: '/chaos' },
      { text: 'Queue for later', link: '/queue-for-later' },
      { text: 'Health', link: '/health' },
    ],
  },
  {
    text: 'Integrations',
    items: [
      { text: 'fetch', link: '/fetch' },
      { text: 'Express', link: '/express' },
      { text: 'Fastify', link: '/fastify' },
      { text: 'Decorators', link: '/decorators' },
      { text: 'Telemetry (OpenTelemetry)', link: '/telemetry' },
      { text: 'Distributed (Redis)', link: '/distributed' },
      { text: 'Configuration', link: '/config' },
    ],
  },
  {
    text: 'Recipes',
    items: [
      { text: 'HTTP client', link: '/recipes/http-client' },
      { text: 'Database', link: '/recipes/database' },
      { text: 'Message consumer', link: '/recipes/message-consumer' },
      { text: 'Per-tenant limits', link: '/recipes/per-tenant-limits' },
    ],
  },
  {
    text: 'Migrating',
    items: [
      { text: 'From cockatiel', link: '/migration/cockatiel' },
      { text: 'From opossum', link: '/migration/opossum' },
      { text: 'From p-retry', link: '/migration/p-retry' },
    ],
  },
  {
    text: 'Project',
    items: [
      { text: 'API reference', link: '/api/' },
      { text: 'Benchmarks', link: '/benchmarks' },
      { text: 'Reliability suite', link: '/reliability' },
      { text: 'Architecture', link: '/architecture' },
    ],
  },
];
