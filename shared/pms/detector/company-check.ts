// The PMS detector's check of one company: given its domain, read its own site politely (the
// crawler, ../crawler/site-crawler.ts) and decide from portal links and redirects (evidence.ts).
// Deterministic, no LLM.
import { detectPms, isVendorHost, strongEvidence } from "./evidence.ts";
import { fetchSite, type FetchSiteOptions } from "../crawler/site-crawler.ts";
import { PMS_CHECK_DEADLINE_MS, type PmsCheck } from "../verifier.ts";
import { evidenceOfCheck } from "./check-evidence.ts";

export interface CompanyPmsResult extends PmsCheck {
  /** the normalised domain that was read */
  domain: string;
  pages_fetched: number;
  /** every request sent, robots.txt and redirect hops included */
  fetched_urls: string[];
  errors: { url: string; error: string }[];
}

export type DetectCompanyOptions = Omit<FetchSiteOptions, "enough"> & {
  /** the company's name, to check that the site is its own (without it the owner is "unknown") */
  companyName?: string;
};

/** "https://www.Acme.com/about" → "acme.com". Throws for what is not a domain name (IPs, localhost). */
export function normalizeDomain(input: string): string {
  let text = input.trim().toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(text)) text = `https://${text}`;
  const host = new URL(text).hostname.replace(/\.$/, "").replace(/^www\./, "");
  if (!/^([a-z0-9-]+\.)+[a-z][a-z0-9-]*$/.test(host)) throw new Error(`not a domain name: ${JSON.stringify(input)}`);
  return host;
}

// enough: one vendor's portal found, and a second page read so that a migration would have shown
const enough = ({ pages, redirects }: { pages: { url: string; html: string }[]; redirects: string[] }) =>
  pages.length >= 2 && strongEvidence(pages, redirects).size === 1;

export async function detectCompanyPms(domain: string, options: DetectCompanyOptions = {}): Promise<CompanyPmsResult> {
  const unknown = (error: string): CompanyPmsResult => ({
    pms: null, confidence: "unknown", evidence_urls: [], domain, pages_fetched: 0, fetched_urls: [], errors: [{ url: domain, error }],
    pages_read: [], pms_page: null, owner: { verdict: "unknown", site_name: null },
  });
  let site: string;
  try {
    site = normalizeDomain(domain);
  } catch (error) {
    return unknown((error as Error).message);
  }
  if (isVendorHost(site)) return { ...unknown(`${site} is a PMS vendor's host, not a company's own site`), domain: site };

  const { companyName, ...fetchOptions } = options;
  const fetched = await fetchSite(site, { deadlineMs: PMS_CHECK_DEADLINE_MS, ...fetchOptions, enough });
  const detection = detectPms(fetched.pages, fetched.redirects.map((r) => r.to));
  return {
    ...detection,
    ...evidenceOfCheck(detection, fetched.pages, fetched.redirects, companyName, new Date().toISOString()),
    domain: site,
    pages_fetched: fetched.pages.length,
    fetched_urls: fetched.requested,
    errors: fetched.errors,
  };
}
