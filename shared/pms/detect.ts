// Which PMS a company's own web pages point to, decided in code from portal links, never from an
// LLM's word. This is the page-analysis half; fetching the pages politely is the caller's job.
import { PMS_VENDORS, type PmsVendor } from "./vendors.ts";

export interface Page {
  url: string;
  html: string;
}

export type Confidence = "high" | "medium" | "low" | "none" | "unknown";

export interface PmsDetection {
  pms: string | null;
  confidence: Confidence;
  evidence_urls: string[];
}

// href/src/action/data-src attribute values, and the text between tags
const URL_ATTRIBUTE = /\b(?:href|src|action|data-src)\s*=\s*["']([^"']+)["']/gi;
// footer credits such as "Powered by AppFolio" or "Website by ..." are not evidence
const CREDIT = /(powered|website|site|designed|built)\s+by\b/i;

function portalVendor(link: URL): PmsVendor | null {
  const host = link.hostname.toLowerCase();
  for (const vendor of PMS_VENDORS) {
    if (vendor.generic.some((g) => g.test(host)) && !vendor.portals.some((p) => p.host.test(host) && p.path?.test(link.pathname))) {
      continue;
    }
    if (vendor.portals.some((p) => p.host.test(host) && (!p.path || p.path.test(link.pathname)))) return vendor;
  }
  return null;
}

/** Links of a page, resolved against its URL, with whether they sit inside a credit line. */
function links(page: Page): { url: URL; credit: boolean }[] {
  const found: { url: URL; credit: boolean }[] = [];
  for (const match of page.html.matchAll(URL_ATTRIBUTE)) {
    try {
      const before = page.html.slice(Math.max(0, match.index! - 120), match.index!);
      found.push({ url: new URL(match[1], page.url), credit: CREDIT.test(before) });
    } catch {
      // not a URL: ignore
    }
  }
  return found;
}

export function detectPms(pages: Page[]): PmsDetection {
  if (pages.length === 0) return { pms: null, confidence: "unknown", evidence_urls: [] };
  const strong = new Map<string, Set<string>>();
  for (const page of pages) {
    for (const link of links(page)) {
      if (link.credit) continue;
      const vendor = portalVendor(link.url);
      if (vendor) {
        if (!strong.has(vendor.name)) strong.set(vendor.name, new Set());
        strong.get(vendor.name)!.add(link.url.href);
      }
    }
  }
  if (strong.size === 1) {
    const [[name, urls]] = strong;
    return { pms: name, confidence: "high", evidence_urls: [...urls].slice(0, 5) };
  }
  if (strong.size > 1) {
    // two vendors linked (often a migration): a person must look
    const [[name, urls]] = [...strong].sort((a, b) => b[1].size - a[1].size);
    return { pms: name, confidence: "low", evidence_urls: [...strong.values()].flatMap((u) => [...u]).slice(0, 5) };
  }
  // only named in the text (outside credit lines): medium at best
  for (const vendor of PMS_VENDORS) {
    for (const page of pages) {
      const text = page.html.replace(/<[^>]+>/g, " ");
      const mention = new RegExp(`\\b(${[vendor.name, ...vendor.aliases].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})\\b`, "i");
      const index = text.search(mention);
      if (index >= 0 && !CREDIT.test(text.slice(Math.max(0, index - 40), index))) {
        return { pms: vendor.name, confidence: "medium", evidence_urls: [page.url] };
      }
    }
  }
  // "none" only after the homepage and one more page
  return { pms: null, confidence: pages.length >= 2 ? "none" : "unknown", evidence_urls: [] };
}
