// The PMS verifier of production: the company's own site, read over HTTP by the polite crawler and
// judged by the detector (company-check.ts). The offline world has its own, on its synthetic sites.
import type { PmsVerifier } from "../verifier.ts";
import { detectCompanyPms, type DetectCompanyOptions } from "./company-check.ts";
import { HostRateLimiter } from "../crawler/site-crawler.ts";

/** Reads the company's own site politely (robots.txt, one request a second per site, size caps). */
export function siteVerifier(options: DetectCompanyOptions = {}): PmsVerifier {
  // one limiter for all the companies a worker checks, so that the spacing per site holds across them
  const rateLimiter = options.rateLimiter ?? new HostRateLimiter(options.minIntervalMs ?? 1000);
  return {
    verify: ({ domain, companyName, signal }) => detectCompanyPms(domain, { ...options, rateLimiter, signal, companyName }),
  };
}
