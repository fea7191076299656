// Which PMS a company's own web pages point to, decided in code from the URLs they link, load and
// redirect to, never from an LLM's word. This is the page-analysis half; fetching the pages politely
// is the crawler's job (../crawler/site-crawler.ts).
//
// high: company-specific URLs (a portal, listings, widget: pms-vendors.ts) of exactly one vendor, and
//   no other vendor's login next to them.
// low: two vendors with company-specific URLs (often a migration), one vendor's portal beside another
//   vendor's login, or weak evidence of two vendors: a person must look.
// medium: one vendor only by vendor-generic evidence (its shared login, its marketing site, a "powered
//   by" credit) or named in the page text. Never "high" from generic evidence: precision first.
// none: nothing, after the homepage and one more page. unknown: nothing could be fetched, or too
//   little to say "none".
import { classifyVendorUrl, PMS_VENDORS, vendorOfHost, type PmsVendor } from "../../domain/pms-vendors.ts";
import type { PmsDetection } from "../../domain/schemas.ts";
import { parsePage, type HtmlLink, type Page } from "../crawler/html.ts";

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
// a login behind a link (its text or its path): another vendor's login beside a portal means two systems
const LOGIN = /resident|tenant|owner|portal|log[-_ ]?in|sign[-_ ]?in|pay/i;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const namePattern = (names: string[]) => names.map((n) => escape(n).replace(/\s+/g, "\\s+")).join("|");
// names that count in page text (not common words such as "avail")
const NAMES = new Map<PmsVendor, RegExp>(PMS_VENDORS.map((v) => [
  v,
  new RegExp(`\\b(?:${namePattern(v.textNames ?? [v.name, ...v.aliases])})\\b`, "gi"),
]));
// any name of a vendor in a link's text ("AppFolio" alone in the footer is a credit)
const LINK_NAMES = new Map<PmsVendor, RegExp>(PMS_VENDORS.map((v) => [v, new RegExp(`\\b(?:${namePattern([v.name, ...v.aliases])})\\b`, "i")]));
const ANY_NAME = new RegExp([...LINK_NAMES.values()].map((r) => r.source).join("|"), "i");
const ALL_NAMES = new RegExp(ANY_NAME.source, "gi");

/** A vendor's host (a portal such as x.managebuilding.com, or buildium.com) is never a company's own site. */
export const isVendorHost = (domain: string): boolean => vendorOfHost(domain) !== null;

/** "Powered by AppFolio", "Website by ...", or a bare vendor-named link in the footer. */
function isCredit(link: HtmlLink): boolean {
  if (link.tag !== "a" && link.tag !== "area") return false;
  if (CREDIT_IN_TEXT.test(link.text) || CREDIT_BEFORE.test(link.before)) return true;
  // "AppFolio" alone in the footer is a credit; "AppFolio resident login" is a portal link
  return link.inFooter && ANY_NAME.test(link.text) && !FUNCTION_WORDS.test(link.text.replace(ALL_NAMES, " "));
}

/** The vendor a credit is for: the vendor of its URL, else the vendor its text names ("Powered by Buildium"). */
function creditVendor(link: HtmlLink): PmsVendor | null {
  return classifyVendorUrl(link.url)?.vendor ?? PMS_VENDORS.find((v) => LINK_NAMES.get(v)!.test(link.text)) ?? null;
}

/** URLs per vendor name, in the order found, each once. */
class Found {
  readonly byVendor = new Map<string, string[]>();
  add(vendor: PmsVendor, url: string) {
    const urls = this.byVendor.get(vendor.name) ?? [];
    if (!urls.includes(url)) urls.push(url);
    this.byVendor.set(vendor.name, urls);
  }
}

interface Evidence {
  /** company-specific URLs: links on the pages and off-site redirect targets */
  strong: Found;
  /** vendor-generic URLs and credits */
  generic: Found;
  /** vendors whose generic evidence is a login or portal link (not a credit, a CDN, a marketing page) */
  genericLogins: Set<string>;
}

/** URLs carried in a link's query ("/redirect?url=https%3A%2F%2Facme.mriresidentconnect.com"): where it sends the visitor. */
function wrappedUrls(url: URL): URL[] {
  const out: URL[] = [];
  for (const [, value] of url.searchParams) {
    if (!/^https?:\/\//i.test(value)) continue;
    try {
      out.push(new URL(value));
    } catch {
      // not a URL
    }
  }
  return out;
}

function collect(pages: Page[], redirects: string[]): Evidence {
  const evidence: Evidence = { strong: new Found(), generic: new Found(), genericLogins: new Set() };
  for (const target of redirects) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      continue; // not a URL: no evidence
    }
    const found = classifyVendorUrl(url);
    if (found?.kind === "portal") evidence.strong.add(found.vendor, target);
    else if (found) {
      // a redirect of the company's own "pay rent" to a vendor's shared login
      evidence.generic.add(found.vendor, target);
      evidence.genericLogins.add(found.vendor.name);
    }
  }
  for (const page of pages) {
    for (const link of parsePage(page).links) {
      if (isCredit(link)) {
        const vendor = creditVendor(link);
        if (vendor) evidence.generic.add(vendor, link.url.href);
        continue;
      }
      for (const url of [link.url, ...wrappedUrls(link.url)]) {
        const found = classifyVendorUrl(url);
        if (!found) continue;
        if (found.kind === "portal") {
          evidence.strong.add(found.vendor, url.href);
          continue;
        }
        evidence.generic.add(found.vendor, url.href);
        if ((link.tag === "a" || link.tag === "area" || link.tag === "form" || link.tag === "meta") && LOGIN.test(`${link.text} ${url.pathname}`)) {
          evidence.genericLogins.add(found.vendor.name);
        }
      }
    }
  }
  return evidence;
}

/** Company-specific URLs per vendor, in the order found: links on the pages and off-site redirect targets. */
export function strongEvidence(pages: Page[], redirects: string[] = []): Map<string, string[]> {
  return collect(pages, redirects).strong.byVendor;
}

/** Vendors named in the visible text outside footers: times named and where. */
function namedInText(pages: Page[]): Map<string, { count: number; urls: string[] }> {
  const named = new Map<string, { count: number; urls: string[] }>();
  for (const page of pages) {
    const text = parsePage(page).text;
    for (const [vendor, name] of NAMES) {
      for (const _ of text.matchAll(name)) {
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
    for (const list of lists) if (i < list.length && out.length < MAX_EVIDENCE && !out.includes(list[i])) out.push(list[i]);
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
  const { strong, generic, genericLogins } = collect(pages, redirects);
  const portals = byWeight([...strong.byVendor], (urls) => urls.length);
  if (portals.length === 1) {
    const [name, urls] = portals[0];
    // another vendor's login beside the portal: two systems in use (often a migration)
    const rival = [...genericLogins].find((other) => other !== name);
    if (!rival) return { pms: name, confidence: "high", evidence_urls: urls.slice(0, MAX_EVIDENCE) };
    return { pms: name, confidence: "low", evidence_urls: interleave([urls, generic.byVendor.get(rival)!]) };
  }
  if (portals.length > 1) {
    // two vendors' portals linked (often a migration): a person must look
    return { pms: portals[0][0], confidence: "low", evidence_urls: interleave(portals.map(([, urls]) => urls)) };
  }
  if (pages.length === 0 && generic.byVendor.size === 0) return { pms: null, confidence: "unknown", evidence_urls: [] };
  // weak evidence: vendor-generic URLs (counted first) and names in the text, per vendor
  const weak = new Map<string, { weight: number; urls: string[] }>();
  for (const [name, urls] of generic.byVendor) weak.set(name, { weight: urls.length * 2, urls: [...urls] });
  for (const [name, n] of namedInText(pages)) {
    const entry = weak.get(name) ?? { weight: 0, urls: [] };
    entry.weight += n.count;
    entry.urls.push(...n.urls.filter((u) => !entry.urls.includes(u)));
    weak.set(name, entry);
  }
  const ranked = byWeight([...weak], (w) => w.weight);
  if (ranked.length > 0) {
    return { pms: ranked[0][0], confidence: ranked.length === 1 ? "medium" : "low", evidence_urls: interleave(ranked.map(([, w]) => w.urls)) };
  }
  // "none" only after the homepage and one more page
  return { pms: null, confidence: pages.length >= 2 ? "none" : "unknown", evidence_urls: [] };
}
