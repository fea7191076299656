// A polite fetcher of a company's own website, for PMS detection: an honest User-Agent, robots.txt,
// a minimum interval between requests to a host, a timeout and a size cap per request, GET only,
// and only pages of the company's own domain (and its www.). Redirects are followed by hand so that
// a redirect to a vendor's portal ("/pay-rent" → x.managebuilding.com) is recorded, never fetched.
// No logins, no forms, no cookies. Everything a site sends is bounded: bytes per page and per site,
// pages, requests, redirect hops (loops detected), Crawl-delay, and a total deadline. Requests go
// through safe-get.ts, which never reads an address of this machine or its networks.
import { sleep, withDeadline } from "../../lib/abort.ts";
import { parseHtml, type Page } from "./html.ts";
import { ALLOW_ALL, DISALLOW_ALL, parseRobots, type RobotsRules } from "./robots.ts";
import { PUBLIC_INTERNET, refusedUrl, siteGet, type SiteNetwork } from "./safe-get.ts";

export const ROBOTS_TOKEN = "pm-leads-pms-detector";
export const USER_AGENT = `${ROBOTS_TOKEN}/0.1 (+https://github.com/pm-leads)`;

/**
 * Where residents and owners are sent, after the homepage's own resident/owner/pay links: portal pages
 * are often not linked from the homepage (a menu built by script, a link only in an e-mail). The
 * portal pages come first; /contact and /about last, as the second page that "none" needs.
 */
export const FIXED_PATHS = [
  "/residents", "/tenants", "/owners", "/portal", "/resident-portal", "/tenant-portal", "/owner-portal",
  "/login", "/pay-rent", "/payments", "/contact", "/about",
];
/** pages read only to be the second page (never the place of a portal): skipped once two pages are read */
const SECOND_PAGE_PATHS = new Set(["/contact", "/about"]);
// link text or URL of a page worth reading (listings, availability and floor plan pages carry the
// vendor's listings or leasing widget)
const KEYWORD = /resident|tenant|owner|portal|log-?\s?in|sign-?\s?in|pay|rent|apply|application|listing|vacanc|availab|floor-?\s?plans?/i;
// files, not pages
const NOT_A_PAGE = /\.(pdf|jpe?g|png|gif|svg|webp|ico|css|js|json|xml|zip|docx?|xlsx?|pptx?|mp[34]|mov|avi)$/i;
const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** a site whose robots.txt asks for a longer Crawl-delay is skipped: obeying it would hold a worker for minutes */
export const MAX_CRAWL_DELAY_MS = 10_000;

export interface FetchSiteOptions {
  /** how sites are reached: the public internet (never a private address) unless tests say otherwise */
  network?: SiteNetwork;
  userAgent?: string;
  /** HTML pages read (homepage included): default 6 */
  maxPages?: number;
  /** HTTP requests of any kind (robots.txt, redirect hops and 404s included): default 15 */
  maxRequests?: number;
  /** per request, body included: default 10 s */
  timeoutMs?: number;
  /** decoded bytes read of a response; the rest is not downloaded: default 512 KiB */
  maxBytes?: number;
  /** decoded bytes read of the whole site: default 2 MiB */
  maxTotalBytes?: number;
  /** for the whole site, waits included: what was read by then is the result (default none) */
  deadlineMs?: number;
  /** minimum time between two requests to one site (www. or not): default 1 s */
  minIntervalMs?: number;
  /** share one limiter between companies so that the spacing holds across them */
  rateLimiter?: HostRateLimiter;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** asked before each further page: true ends the crawl (e.g. enough evidence already) */
  enough?: (progress: { pages: Page[]; redirects: string[] }) => boolean;
}

export interface SiteFetchResult {
  /** HTML pages read, by their final URL */
  pages: Page[];
  /** redirects from the company's URLs to other hosts: recorded, not followed */
  redirects: { from: string; to: string }[];
  /** every request sent, in order (robots.txt and redirect hops included) */
  requested: string[];
  errors: { url: string; error: string }[];
}

/** www.acme.com and acme.com are one site: one robots.txt each, but one rate limit. */
export const siteKey = (host: string) => host.toLowerCase().replace(/^www\./, "");

function abortable(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

/**
 * One request at a time per site, and the next one starts at least `interval` after the previous
 * one was answered (not merely started): a slow server gets its breathing time too, and the gaps
 * the server sees are never shorter than the interval.
 */
export class HostRateLimiter {
  private readonly nextAt = new Map<string, number>();
  private readonly queue = new Map<string, Promise<void>>();
  constructor(readonly minIntervalMs: number) {}

  /** Waits for the site's turn; call the returned release once the response (or error) has come. */
  async acquire(host: string, signal?: AbortSignal, intervalMs = this.minIntervalMs): Promise<() => void> {
    const key = siteKey(host);
    const previous = this.queue.get(key) ?? Promise.resolve();
    let turnOver!: () => void;
    const turn = new Promise<void>((resolve) => (turnOver = resolve));
    const tail = previous.then(() => turn);
    this.queue.set(key, tail);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.nextAt.set(key, performance.now() + Math.max(intervalMs, this.minIntervalMs));
      if (this.queue.get(key) === tail) this.queue.delete(key);
      turnOver();
    };
    try {
      await abortable(previous, signal);
      // timers may fire a little early: sleep until the clock says so
      for (let wait = this.nextAt.get(key) ?? 0; wait > performance.now();) await sleep(Math.ceil(wait - performance.now()), signal);
    } catch (error) {
      // leave without taking a turn; `tail` stays queued, so whoever comes next still waits for `previous`
      turnOver();
      throw error;
    }
    return release;
  }
}

type Outcome =
  | { kind: "ok"; url: URL; body: string; truncated: boolean; cap: number }
  | { kind: "offsite"; to: string }
  | { kind: "disallowed" }
  | { kind: "error"; error: string; status?: number };

interface Robots {
  rules: RobotsRules;
  /** why robots.txt could not be read at all */
  error?: string;
}

interface Context {
  domain: string;
  network: SiteNetwork;
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
  /** decoded bytes the site may still send */
  bytesLeft: number;
  maxRedirects: number;
  maxRequests: number;
  limiter: HostRateLimiter;
  signal?: AbortSignal;
  robots: Map<string, Promise<Robots>>;
  crawlDelayMs: number | null;
  /** why the rest of the site is not read (a Crawl-delay above the cap) */
  skipped: string | null;
  requested: string[];
}

const onSite = (url: URL, domain: string) =>
  (url.protocol === "https:" || url.protocol === "http:") && siteKey(url.hostname) === domain && !url.username && !url.password;

const pageKey = (url: URL) => `${siteKey(url.hostname)}${url.pathname.replace(/\/+$/, "") || "/"}${url.search}`;

/** Reads at most `maxBytes` of the body, then cancels the download. */
async function readCapped(response: Response, maxBytes: number): Promise<{ body: string; truncated: boolean; size: number }> {
  if (!response.body) return { body: "", truncated: false, size: 0 };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  // bytes that are not UTF-8 become U+FFFD: garbage is read as garbage, never a crash
  return { body: new TextDecoder().decode(all), truncated, size };
}

const discard = (response: Response) => response.body?.cancel().catch(() => {});

function describe(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return `timeout after ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(error)}${cause ? ` (${cause})` : ""}`;
}

/** One GET, after waiting for the site's turn; the timeout covers the body too. */
async function request(url: URL, ctx: Context): Promise<{ response: Response } | { error: string }> {
  if (ctx.requested.length >= ctx.maxRequests) return { error: "request budget spent" };
  const release = await ctx.limiter.acquire(url.hostname, ctx.signal, ctx.crawlDelayMs ?? 0);
  ctx.requested.push(url.href);
  try {
    const response = await siteGet(url, ctx.network, {
      signal: withDeadline(ctx.signal, ctx.timeoutMs),
      headers: { "user-agent": ctx.userAgent, accept: "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5" },
    });
    return { response };
  } catch (error) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    return { error: describe(error, ctx.timeoutMs) };
  } finally {
    release(); // the headers are in (or it failed): the interval starts now
  }
}

/**
 * GETs `start`, following redirects within the site (each hop rate limited and, for pages, checked
 * against robots.txt); a redirect off the site ends it, unfetched.
 */
async function follow(start: URL, ctx: Context, purpose: "page" | "robots"): Promise<Outcome> {
  let url = start;
  const chain = new Set<string>();
  for (let hop = 0; hop <= ctx.maxRedirects; hop++) {
    if (!onSite(url, ctx.domain)) return { kind: "offsite", to: url.href };
    if (chain.has(url.href)) return { kind: "error", error: `redirect loop at ${url.href}` };
    chain.add(url.href);
    const refused = refusedUrl(url);
    if (refused) return { kind: "error", error: refused };
    if (purpose === "page") {
      const robots = await robotsFor(url, ctx);
      if (ctx.skipped) return { kind: "error", error: ctx.skipped };
      if (robots.error) return { kind: "error", error: `robots.txt not read: ${robots.error}` };
      if (!robots.rules.allows(url.pathname + url.search)) return { kind: "disallowed" };
    }
    const sent = await request(url, ctx);
    if ("error" in sent) return { kind: "error", error: sent.error };
    const { response } = sent;
    const location = response.headers.get("location");
    if (REDIRECT.has(response.status) && location) {
      await discard(response);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return { kind: "error", error: `bad redirect to ${location.slice(0, 200)}` };
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") return { kind: "error", error: `redirect to ${next.protocol}` };
      if (url.protocol === "https:" && next.protocol === "http:" && onSite(next, ctx.domain)) {
        return { kind: "error", error: `redirect from https to http refused (${next.href})` };
      }
      url = next;
      continue;
    }
    if (response.status < 200 || response.status > 299) {
      await discard(response);
      return { kind: "error", error: `HTTP ${response.status}`, status: response.status };
    }
    const type = (response.headers.get("content-type") ?? "").toLowerCase();
    if (purpose === "page" && !/^(text\/html|application\/xhtml\+xml)\b/.test(type)) {
      await discard(response);
      return { kind: "error", error: `not HTML (${type || "no content-type"})` };
    }
    try {
      const cap = Math.min(ctx.maxBytes, ctx.bytesLeft);
      const read = await readCapped(response, cap);
      ctx.bytesLeft -= read.size;
      return { kind: "ok", url, body: read.body, truncated: read.truncated, cap };
    } catch (error) {
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      return { kind: "error", error: describe(error, ctx.timeoutMs) };
    }
  }
  return { kind: "error", error: `more than ${ctx.maxRedirects} redirects` };
}

/** robots.txt of `url`'s origin, fetched once: missing (4xx) allows all; unreachable (5xx, timeout) allows nothing. */
function robotsFor(url: URL, ctx: Context): Promise<Robots> {
  const origin = url.origin;
  let rules = ctx.robots.get(origin);
  if (!rules) {
    rules = follow(new URL("/robots.txt", origin), ctx, "robots").then((outcome) => {
      if (outcome.kind === "ok") {
        const parsed = parseRobots(outcome.body, ROBOTS_TOKEN);
        if (parsed.crawlDelayMs !== null && parsed.crawlDelayMs > MAX_CRAWL_DELAY_MS) {
          ctx.skipped = `crawl-delay ${parsed.crawlDelayMs / 1000} s above the cap of ${MAX_CRAWL_DELAY_MS / 1000} s: site skipped`;
        }
        ctx.crawlDelayMs = parsed.crawlDelayMs;
        return { rules: parsed };
      }
      // RFC 9309: "unavailable" (4xx) means no restrictions; a robots.txt elsewhere is one we may not read
      if (outcome.kind === "offsite" || (outcome.kind === "error" && outcome.status && outcome.status < 500)) return { rules: ALLOW_ALL };
      // unreachable: nothing may be read, and a network error (refused, no such host) says why
      return { rules: DISALLOW_ALL, error: outcome.kind === "error" && !outcome.status ? outcome.error : undefined };
    });
    ctx.robots.set(origin, rules);
  }
  return rules;
}

/**
 * The pages to read after the homepage, in order: its same-site links whose text or URL speaks of
 * residents, owners, portals, rent or listings; then the FIXED_PATHS it links (they exist: the second
 * page that "none" needs, without a run of 404s first); then the FIXED_PATHS it does not link (portal
 * pages reached from e-mails or from menus built by script).
 */
function candidatePages(home: Page, domain: string): URL[] {
  const keyword: URL[] = [];
  const linked = new Set<string>();
  for (const link of parseHtml(home.html, home.url).links) {
    if (link.tag !== "a" && link.tag !== "area") continue;
    const url = new URL(link.url.href);
    url.hash = "";
    if (!onSite(url, domain) || url.pathname === "/" || NOT_A_PAGE.test(url.pathname)) continue;
    linked.add(pageKey(url));
    if (KEYWORD.test(`${link.text} ${url.pathname}`)) keyword.push(url);
  }
  const fixed = FIXED_PATHS.map((path) => new URL(path, home.url));
  return [...keyword, ...fixed.filter((url) => linked.has(pageKey(url))), ...fixed.filter((url) => !linked.has(pageKey(url)))];
}

/**
 * Reads the homepage of `domain` (a bare host such as "acme.com"; www. is tried if it fails), then
 * the pages of candidatePages, until the page budget or `enough`.
 */
export async function fetchSite(domain: string, options: FetchSiteOptions = {}): Promise<SiteFetchResult> {
  const maxPages = options.maxPages ?? 6;
  const ctx: Context = {
    domain: siteKey(domain),
    network: options.network ?? PUBLIC_INTERNET,
    userAgent: options.userAgent ?? USER_AGENT,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxBytes: options.maxBytes ?? 512 * 1024,
    bytesLeft: options.maxTotalBytes ?? 2 * 1024 * 1024,
    maxRedirects: options.maxRedirects ?? 5,
    maxRequests: options.maxRequests ?? 15,
    limiter: options.rateLimiter ?? new HostRateLimiter(options.minIntervalMs ?? 1000),
    signal: options.signal,
    robots: new Map(),
    crawlDelayMs: null,
    skipped: null,
    requested: [],
  };
  const deadline = options.deadlineMs === undefined ? undefined : AbortSignal.timeout(options.deadlineMs);
  if (deadline) ctx.signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const result: SiteFetchResult = { pages: [], redirects: [], requested: ctx.requested, errors: [] };
  const seen = new Set<string>();
  const spent = () => result.pages.length >= maxPages || ctx.requested.length >= ctx.maxRequests || ctx.bytesLeft <= 0 || ctx.skipped !== null;

  /** Reads one URL of the site into the result. */
  const visit = async (url: URL): Promise<Outcome["kind"]> => {
    seen.add(pageKey(url));
    const outcome = await follow(url, ctx, "page");
    if (outcome.kind === "ok") {
      seen.add(pageKey(outcome.url));
      result.pages.push({ url: outcome.url.href, html: outcome.body, read_at: new Date().toISOString() });
      if (outcome.truncated) result.errors.push({ url: outcome.url.href, error: `truncated at ${outcome.cap} bytes` });
    } else if (outcome.kind === "offsite") {
      result.redirects.push({ from: url.href, to: outcome.to });
    } else {
      result.errors.push({ url: url.href, error: outcome.kind === "disallowed" ? "disallowed by robots.txt" : outcome.error });
    }
    return outcome.kind;
  };

  const crawl = async () => {
    let home: Page | undefined;
    for (const start of [`https://${ctx.domain}/`, `https://www.${ctx.domain}/`]) {
      if (spent()) break;
      const kind = await visit(new URL(start));
      if (kind === "ok") home = result.pages[0];
      // only a failure is worth a second try on www.: robots.txt or a redirect off the site would not differ
      if (kind !== "error") break;
    }
    if (!home) return;

    for (const url of candidatePages(home, ctx.domain)) {
      if (spent()) break;
      if (SECOND_PAGE_PATHS.has(url.pathname) && result.pages.length >= 2) continue;
      if (options.enough?.({ pages: result.pages, redirects: result.redirects.map((r) => r.to) })) break;
      if (seen.has(pageKey(url))) continue;
      await visit(url);
    }
  };
  try {
    await crawl();
  } catch (error) {
    // the deadline ends the crawl with what was read; the caller's own signal ends it with its error
    if (!deadline?.aborted || options.signal?.aborted) throw error;
    result.errors.push({ url: `https://${ctx.domain}/`, error: `deadline of ${options.deadlineMs} ms reached` });
  }
  if (ctx.skipped && !result.errors.some((e) => e.error === ctx.skipped)) result.errors.push({ url: `https://${ctx.domain}/`, error: ctx.skipped });
  return result;
}
