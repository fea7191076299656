// Which PMS a company's own web pages point to, decided in code from portal links, never from an
// LLM's word. This is the page-analysis half; fetching the pages politely is the crawler's job
// (../crawler/site-crawler.ts).
//
// high: portal/listing/widget URLs of exactly one vendor (links, iframes, scripts, forms, redirects).
// low: portal URLs of two vendors (often a migration), or only text naming two: a person must look.
// medium: one vendor only named in the page text. none: nothing, after the homepage and one more page.
// unknown: nothing could be fetched, or too little to say "none".
import { PMS_VENDORS, type PmsVendor } from "../../domain/pms-vendors.ts";
import type { PmsDetection } from "../../domain/schemas.ts";
import { parseHtml, type HtmlLink, type Page, type ParsedHtml } from "../crawler/html.ts";

export type { Page, PmsDetection };

const MAX_EVIDENCE = 5;
const CREDIT = String.raw`\b(?:powered|website|web site|site|design(?:ed)?|built|developed|hosted|hosting|made|created)\s+(?:and\s+\w+\s+)?(?:by|with)\b`;
// the credit phrase in a link's own text ("Powered by AppFolio" logo alt text)
const CREDIT_IN_TEXT = new RegExp(CREDIT, "i");
// the credit phrase right before the link or name, in the same sentence ("Website powered by <a>",
// not "Website by WebCo. We use Buildium")
const CREDIT_BEFORE = new RegExp(`${CREDIT}[^.!?|·•©\\n]{0,30}$`, "i");
// what a visitor does behind a link: such a link is a portal, even in the footer
const FUNCTION_WORDS = /\b(residents?|tenants?|owners?|portal|log ?in|sign ?in|pay|rent|apply|applications?|listings?|maintenance|vacanc(y|ies))\b/i;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const NAMES = new Map<PmsVendor, RegExp>(PMS_VENDORS.map((v) => [
  v,
  new RegExp(`\\b(?:${[v.name, ...v.aliases].map((n) => escape(n).replace(/\s+/g, "\\s+")).join("|")})\\b`, "gi"),
]));
const ANY_NAME = new RegExp([...NAMES.values()].map((r) => r.source).join("|"), "i");
const ALL_NAMES = new RegExp(ANY_NAME.source, "gi");

/** The vendor whose portal, listings or widget `url` is; null for vendor-generic and all other hosts. */
export function portalVendor(url: URL): PmsVendor | null {
  const host = url.hostname.toLowerCase();
  for (const vendor of PMS_VENDORS) {
    if (vendor.sitePaths?.some((p) => p.test(url.pathname))) return vendor;
    const generic = vendor.generic.some((g) => g.test(host));
    // on a generic host only a path-specific rule counts (app.propertyware.com/pw/portals/, widgets.appfolio.com/listings)
    if (vendor.portals.some((p) => p.host.test(host) && (p.path ? p.path.test(url.pathname) : !generic))) return vendor;
  }
  return null;
}

/** A vendor's host (a portal such as x.managebuilding.com, or buildium.com) is never a company's own site. */
export function isVendorHost(domain: string): boolean {
  return [domain, `www.${domain}`].some((host) =>
    portalVendor(new URL(`https://${host}/`)) !== null || PMS_VENDORS.some((v) => v.generic.some((g) => g.test(host))));
}

/** "Powered by AppFolio", "Website by ...", or a bare vendor-named link in the footer. */
function isCredit(link: HtmlLink): boolean {
  if (link.tag !== "a" && link.tag !== "area") return false;
  if (CREDIT_IN_TEXT.test(link.text) || CREDIT_BEFORE.test(link.before)) return true;
  // "AppFolio" alone in the footer is a credit; "AppFolio resident login" is a portal link
  return link.inFooter && ANY_NAME.test(link.text) && !FUNCTION_WORDS.test(link.text.replace(ALL_NAMES, " "));
}

// the crawler asks after every page whether it has seen enough: parse each page once
const parsedPages = new WeakMap<Page, { html: string; url: string; result: ParsedHtml }>();
function parsed(page: Page): ParsedHtml {
  const cached = parsedPages.get(page);
  if (cached && cached.html === page.html && cached.url === page.url) return cached.result;
  const result = parseHtml(page.html, page.url);
  parsedPages.set(page, { html: page.html, url: page.url, result });
  return result;
}

/** Portal URLs per vendor, in the order found: links on the pages and off-site redirect targets. */
export function strongEvidence(pages: Page[], redirects: string[] = []): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (vendor: PmsVendor, url: string) => {
    const urls = found.get(vendor.name) ?? [];
    if (!urls.includes(url)) urls.push(url);
    found.set(vendor.name, urls);
  };
  for (const target of redirects) {
    try {
      const vendor = portalVendor(new URL(target));
      if (vendor) add(vendor, target);
    } catch {
      // not a URL: no evidence
    }
  }
  for (const page of pages) {
    for (const link of parsed(page).links) {
      const vendor = portalVendor(link.url);
      if (vendor && !isCredit(link)) add(vendor, link.url.href);
    }
  }
  return found;
}

/** Vendors named in the visible text outside footers and credit lines: times named and where. */
function namedInText(pages: Page[]): Map<string, { count: number; urls: string[] }> {
  const named = new Map<string, { count: number; urls: string[] }>();
  for (const page of pages) {
    const text = parsed(page).text;
    for (const [vendor, name] of NAMES) {
      for (const m of text.matchAll(name)) {
        if (CREDIT_BEFORE.test(text.slice(Math.max(0, m.index! - 60), m.index!))) continue;
        const entry = named.get(vendor.name) ?? { count: 0, urls: [] };
        entry.count++;
        if (!entry.urls.includes(page.url)) entry.urls.push(page.url);
        named.set(vendor.name, entry);
      }
    }
  }
  return named;
}

/** Up to MAX_EVIDENCE URLs, taking from each vendor in turn so that every vendor is shown. */
function interleave(lists: string[][]): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < MAX_EVIDENCE && lists.some((l) => i < l.length); i++) {
    for (const list of lists) if (i < list.length && out.length < MAX_EVIDENCE) out.push(list[i]);
  }
  return out;
}

/** Most evidence first; Map order (first found) breaks ties. */
const byWeight = <T>(entries: [string, T][], weight: (t: T) => number) =>
  [...entries].sort((a, b) => weight(b[1]) - weight(a[1]));

/**
 * The PMS of a company from its own pages (`url` = where the HTML was read) and from the off-site
 * targets its own URLs redirected to (`redirects`, e.g. /pay-rent → x.managebuilding.com/...).
 */
export function detectPms(pages: Page[], redirects: string[] = []): PmsDetection {
  const strong = byWeight([...strongEvidence(pages, redirects)], (urls) => urls.length);
  if (strong.length === 1) return { pms: strong[0][0], confidence: "high", evidence_urls: strong[0][1].slice(0, MAX_EVIDENCE) };
  if (strong.length > 1) {
    // two vendors linked (often a migration): a person must look
    return { pms: strong[0][0], confidence: "low", evidence_urls: interleave(strong.map(([, urls]) => urls)) };
  }
  if (pages.length === 0) return { pms: null, confidence: "unknown", evidence_urls: [] };
  const named = byWeight([...namedInText(pages)], (n) => n.count);
  if (named.length > 0) {
    const confidence = named.length === 1 ? "medium" : "low";
    return { pms: named[0][0], confidence, evidence_urls: interleave(named.map(([, n]) => n.urls)).filter((u, i, all) => all.indexOf(u) === i) };
  }
  // "none" only after the homepage and one more page
  return { pms: null, confidence: pages.length >= 2 ? "none" : "unknown", evidence_urls: [] };
}
