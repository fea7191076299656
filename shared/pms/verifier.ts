// The PMS check that decides acceptance, done in code whatever the research provider claimed:
// in production the company's own site is read over HTTP; the offline world has its synthetic sites.
import type { Criteria } from "../domain/schemas.ts";
import type { PmsDetection } from "./detect.ts";
import { detectCompanyPms, type DetectCompanyOptions } from "./detector.ts";
import { HostRateLimiter } from "./fetch-site.ts";
import type { SiteNetwork } from "./site-http.ts";
import { connect, isIP } from "node:net";

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
 * A network on which every company site is the one server at `baseUrl` (plain HTTP on its port):
 * how a local run reads sites served on this machine (PM_LEADS_SITE_BASE_URL). The only address it
 * allows is that server's, so the SSRF guard stays on for everything else.
 */
export function networkVia(baseUrl: string): SiteNetwork {
  const base = new URL(baseUrl);
  const address = base.hostname.replace(/^\[|\]$/g, "");
  if (!isIP(address)) throw new Error(`PM_LEADS_SITE_BASE_URL must name an IP address (e.g. http://127.0.0.1:8080), not ${base.hostname}`);
  const port = Number(base.port || 80);
  return {
    resolve: () => Promise.resolve([address]),
    allows: (a) => a === address,
    connect: (a) => connect({ host: a, port }),
  };
}
