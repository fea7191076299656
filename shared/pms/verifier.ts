// The PMS check that decides acceptance, done in code whatever the research provider claimed: the
// seam the pipeline checks through. In production the company's own site is read over HTTP
// (detector/site-verifier.ts); the offline world has its synthetic sites (providers/offline).
import type { Criteria, PmsDetection } from "../domain/schemas.ts";

export interface PmsVerifier {
  verify(input: { domain: string; criteria: Criteria; signal: AbortSignal }): Promise<PmsDetection & { pages_fetched?: number }>;
}

/**
 * The PMS check of one company takes at most this long, waits for the site's rate limit included
 * (then it decides from what was read by then): a worker claims a task only when its time budget
 * covers this too.
 */
export const PMS_CHECK_DEADLINE_MS = 30_000;
