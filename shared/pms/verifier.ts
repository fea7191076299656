// The PMS check that decides acceptance, done in code whatever the research provider claimed:
// in production the company's own site is read over HTTP; the offline world has its synthetic sites.
import type { Criteria } from "../pipeline/schemas.ts";
import type { PmsDetection } from "./detect.ts";
import { detectCompanyPms, type DetectCompanyOptions } from "./detector.ts";
import { HostRateLimiter } from "./fetch-site.ts";

export interface PmsVerifier {
  verify(input: { domain: string; criteria: Criteria; signal: AbortSignal }): Promise<PmsDetection & { pages_fetched?: number }>;
}

/** Reads the company's own site politely (robots.txt, one request a second per site, size caps). */
export function siteVerifier(options: DetectCompanyOptions = {}): PmsVerifier {
  // one limiter for all the companies a worker checks, so that the spacing per site holds across them
  const rateLimiter = options.rateLimiter ?? new HostRateLimiter(options.minIntervalMs ?? 1000);
  return {
    verify: ({ domain, signal }) => detectCompanyPms(domain, { ...options, rateLimiter, signal }),
  };
}

/**
 * A fetch that sends every request for a company site to one server, with the site's host in an
 * `x-site-host` header: how a local run reads sites served on this machine (PM_LEADS_SITE_BASE_URL).
 */
export function fetchVia(baseUrl: string): typeof globalThis.fetch {
  const base = baseUrl.replace(/\/$/, "");
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    headers.set("x-site-host", url.host);
    return globalThis.fetch(`${base}${url.pathname}${url.search}`, { ...init, headers });
  };
}
