// The PMS check that decides acceptance, done in code whatever the research provider claimed: the
// seam the pipeline checks through. In production the company's own site is read over HTTP
// (detector/site-verifier.ts); the offline world has its synthetic sites (providers/offline).
import type { Criteria, PageRead, PmsDetection, SiteOwnership } from "../domain/schemas.ts";

/** What one check of a company's site found: the PMS, and the evidence the rest of research is checked against. */
export interface PmsCheck extends PmsDetection {
  pages_fetched?: number;
  /** the company's pages the check read, with when: a URL research cites is accepted if it is one of them */
  pages_read: PageRead[];
  /** the page that shows the PMS (where its portal link is, or the URL that redirected to it), when read */
  pms_page: PageRead | null;
  /** whether the homepage read carries the company's name (site-owner.ts) */
  owner: SiteOwnership;
}

export interface PmsVerifier {
  verify(input: { domain: string; companyName: string; criteria: Criteria; signal: AbortSignal }): Promise<PmsCheck>;
}

/**
 * The PMS check of one company takes at most this long, waits for the site's rate limit included
 * (then it decides from what was read by then): a worker claims a task only when its time budget
 * covers this too.
 */
export const PMS_CHECK_DEADLINE_MS = 30_000;
