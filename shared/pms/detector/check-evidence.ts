// What a PMS check read, as the evidence the rest of research is checked against: its pages with
// their read times, the page that shows the PMS, and whose site it is. Shared by the check of real
// sites (company-check.ts) and the offline world's, without the crawler.
import type { PmsDetection } from "../../domain/schemas.ts";
import { parsePage, type Page } from "../crawler/html.ts";
import type { PmsCheck } from "../verifier.ts";
import { siteOwnership } from "./site-owner.ts";

/**
 * What a check read, as evidence: its pages with their read times, the page that shows the PMS (the
 * one linking to the first evidence URL, the URL that redirected to it, or the evidence page itself),
 * and whether the homepage (the first page) carries the company's name. `checkedAt` stands for pages
 * without a read time of their own and for redirects.
 */
export function evidenceOfCheck(detection: PmsDetection, pages: Page[], redirects: { from: string; to: string }[],
  companyName: string | undefined, checkedAt: string): Omit<PmsCheck, keyof PmsDetection> {
  const pagesRead = pages.map((p) => ({ url: p.url, read_at: p.read_at ?? checkedAt }));
  const target = detection.evidence_urls[0];
  let pmsPage: PmsCheck["pms_page"] = null;
  if (target) {
    const index = pages.findIndex((p) => p.url === target || parsePage(p).links.some((l) => l.url.href === target));
    const redirect = redirects.find((r) => r.to === target);
    pmsPage = index >= 0 ? pagesRead[index] : redirect ? { url: redirect.from, read_at: checkedAt } : null;
  }
  const owner = companyName ? siteOwnership(companyName, pages[0]) : { verdict: "unknown" as const, site_name: null };
  return { pages_fetched: pages.length, pages_read: pagesRead, pms_page: pmsPage, owner };
}
