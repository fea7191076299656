// The PMS detector end to end against small local websites (tests/fixtures/pms-sites and inline
// ones), and the fetcher's manners: robots.txt, own domain only, budgets, size cap, timeouts,
// User-Agent and the per-host interval. No network: every URL goes to a server on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectPms } from "../../shared/pms/detector/evidence.ts";
import { detectCompanyPms, normalizeDomain } from "../../shared/pms/detector/company-check.ts";
import { PMS_CHECK_DEADLINE_MS } from "../../shared/pms/verifier.ts";
import { FIXED_PATHS, fetchSite, HostRateLimiter, USER_AGENT } from "../../shared/pms/crawler/site-crawler.ts";
import { connectTo, isPublicAddress, PUBLIC_INTERNET, siteGet, type SiteNetwork } from "../../shared/pms/crawler/safe-get.ts";
import { createServer as createTlsServer } from "node:https";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { parseRobots } from "../../shared/pms/crawler/robots.ts";
import { PMS_VENDORS } from "../../shared/domain/pms-vendors.ts";
import { waitFor } from "../helpers/wait.ts";
import { loadFixtureSites, startSiteServer, type LoggedRequest, type SiteServer, type SiteSpec } from "../helpers/site-server.ts";

const fixtures = loadFixtureSites();
// fast but otherwise the production manners
const FAST = { minIntervalMs: 5, timeoutMs: 2_000 };
const hostOf = (domain: string) => (r: LoggedRequest) => r.host.replace(/^www\./, "") === domain;

/** Starts a server for `sites` for the duration of one test. */
async function withServer<T>(sites: Record<string, SiteSpec>, run: (server: SiteServer) => Promise<T>): Promise<T> {
  const server = await startSiteServer(sites);
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

const html = (body: string) => `<!doctype html><html><body>${body}</body></html>`;

describe("PMS detection of the fixture sites", () => {
  let server: SiteServer;
  beforeAll(async () => {
    server = await startSiteServer(fixtures);
  });
  afterAll(() => server.close());

  it("has at least 20 sites, a high one for every vendor of the original table", () => {
    // the first 14 entries of PMS_VENDORS are the original table; every vendor, the newer ones
    // included, is covered by the corpus (pms-detect-corpus.test.ts)
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    const covered = new Set(fixtures.filter((f) => f.expected.confidence === "high").map((f) => f.expected.pms));
    expect(PMS_VENDORS.slice(0, 14).map((v) => v.name).filter((name) => !covered.has(name))).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))("%s", async (_name, site) => {
    const result = await detectCompanyPms(site.domain, { network: server.network, ...FAST });
    expect({ pms: result.pms, confidence: result.confidence }).toEqual(site.expected);
    if (result.confidence === "high") {
      // evidence is the vendor's host, never the company's own pages (except a vendor's plugin path)
      expect(result.evidence_urls.length).toBeGreaterThan(0);
    }
    const mine = server.requests.filter(hostOf(site.domain));
    expect(mine.length).toBeGreaterThan(0);
    for (const request of mine) {
      expect(request).toMatchObject({ method: "GET", userAgent: USER_AGENT });
    }
    expect(server.requests.filter((r) => r.foreign)).toEqual([]);
  });

  it("follows a /pay-rent redirect to the portal only as far as recording it", async () => {
    const result = await detectCompanyPms("https://www.pay-rent-redirect.example/some/page", { network: server.network, ...FAST });
    expect(result).toMatchObject({ domain: "pay-rent-redirect.example", pms: "Buildium", confidence: "high" });
    expect(result.evidence_urls).toEqual(["https://magnoliapm.managebuilding.com/Resident/portal/login"]);
    expect(result.fetched_urls.every((u) => new URL(u).hostname.endsWith("pay-rent-redirect.example"))).toBe(true);
    expect(server.requests.filter((r) => r.foreign)).toEqual([]);
  });

  it("does not read a page robots.txt disallows for our agent, even when it holds the only evidence", async () => {
    const before = server.requests.length;
    const result = await detectCompanyPms("robots-blocks-evidence.example", { network: server.network, ...FAST });
    const paths = server.requests.slice(before).map((r) => r.path);
    expect(paths).not.toContain("/residents");
    expect(paths[0]).toBe("/robots.txt");
    expect(result.errors).toContainEqual({ url: "https://robots-blocks-evidence.example/residents", error: "disallowed by robots.txt" });
    expect(result).toMatchObject({ pms: null, confidence: "none" });
  });

  it("a homepage that cannot be fetched is unknown, and nothing else is tried", async () => {
    const result = await detectCompanyPms("homepage-fails.example", { network: server.network, ...FAST });
    expect(result).toMatchObject({ pms: null, confidence: "unknown", pages_fetched: 0 });
    expect(result.fetched_urls.filter((u) => !u.endsWith("/robots.txt"))).toEqual([
      "https://homepage-fails.example/", "https://www.homepage-fails.example/",
    ]);
  });

  it("stops early once one vendor's portal is found on the second page read", async () => {
    const result = await detectCompanyPms("buildium-portal.example", { network: server.network, ...FAST });
    expect(result.pages_fetched).toBe(2);
    expect(result.fetched_urls).toEqual([
      "https://buildium-portal.example/robots.txt", "https://buildium-portal.example/", "https://buildium-portal.example/residents",
    ]);
  });
});

describe("credits, footers and text on the company's pages", () => {
  const pages = (html: string) => [{ url: "https://acme.example/", html }, { url: "https://acme.example/about", html: "<p>About</p>" }];

  it.each([
    ["a portal link right after a credit, in the same footer line",
      '<footer><p>Website by <a href="https://webco.example/">WebCo</a> · <a href="https://acme.rmresident.com/">Resident Login</a></p></footer>',
      { pms: "Rent Manager", confidence: "high" }],
    // a credit is vendor-generic, whatever host it links: medium at most
    ["a bare vendor-named link in the footer", '<footer><a href="https://acme.appfolio.com/">AppFolio</a></footer>', { pms: "AppFolio", confidence: "medium" }],
    ["a credit naming what was made", '<p>Website design and hosting by <a href="https://acme.appfolio.com/">AppFolio</a></p>', { pms: "AppFolio", confidence: "medium" }],
    ["a credit logo", '<div><a href="https://acme.appfolio.com/"><img src="/b.png" alt="Powered by AppFolio"></a></div>', { pms: "AppFolio", confidence: "medium" }],
    ["a credit to a web agency only", '<footer><p>Site design by <a href="https://webco.example/">WebCo</a></p></footer>', { pms: null, confidence: "none" }],
    ["a vendor named after a credit's sentence", "<p>Site by WebCo. Our owner portal moved to Buildium.</p>", { pms: "Buildium", confidence: "medium" }],
    ["two vendors named in the text", "<p>We moved from Buildium to AppFolio; AppFolio has the new portal.</p>", { pms: "AppFolio", confidence: "low" }],
    ["a listings iframe loaded lazily", '<iframe data-src="https://acme.tenantcloud.com/listings"></iframe>', { pms: "TenantCloud", confidence: "high" }],
    ["a vendor URL only in an image", '<img src="https://acme.managebuilding.com/logo.png">', { pms: null, confidence: "none" }],
  ])("%s", (_name, html, expected) => {
    expect(detectPms(pages(html))).toMatchObject(expected);
  });

  it("reads broken HTML in linear time (an attribute quote never closed, tags never ended)", () => {
    for (const broken of ['<a href="x'.repeat(50_000), "<a ".repeat(150_000), "<!-- ".repeat(100_000)]) {
      const started = performance.now();
      expect(detectPms(pages(broken)).confidence).toBe("none");
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    const good = '<a href="https://acme.managebuilding.com/Resident/portal/login">Residents</a>';
    expect(detectPms(pages(`<a title='it"s'>x</a><!-- <a href="https://x.appfolio.com/"> -->${good}`)).pms).toBe("Buildium");
  });
});

describe("the fetcher's manners", () => {
  it("never fetches other domains or portal hosts, however the company's pages link to them", async () => {
    const sites = {
      "acme.example": {
        files: {
          "/": html('<a href="https://other-company.example/residents">Residents</a> <a href="https://acme.managebuilding.com/Resident/portal/login">Pay rent</a> <a href="/residents">Residents</a>'),
          "/residents": html('<a href="https://acme.managebuilding.com/Resident/public/rentals">Rentals</a>'),
        },
        redirects: { "/portal": { location: "https://other-company.example/portal" } },
      },
      "other-company.example": { files: { "/": html("x"), "/residents": html("x"), "/portal": html("x") } },
    };
    await withServer(sites, async (server) => {
      const result = await detectCompanyPms("acme.example", { network: server.network, ...FAST, maxPages: 10 });
      expect(server.requests.map((r) => r.host.replace(/^www\./, "")).every((h) => h === "acme.example")).toBe(true);
      expect(result.pms).toBe("Buildium");
    });
  });

  it("finds a portal page the homepage does not link at a common path, within the budgets", async () => {
    const sites = {
      "unlinked.example": { files: { "/": html('<a href="/about">About</a>'), "/about": html("<p>about</p>"),
        "/owner-portal": html('<a href="https://acme.rentvine.com/portals/owner">Owner login</a>') } },
      "nothing.example": { files: { "/": html('<a href="/about">About</a> <a href="/contact">Contact</a>'), "/about": html("<p>a</p>"), "/contact": html("<p>c</p>") } },
    };
    await withServer(sites, async (server) => {
      const found = await detectCompanyPms("unlinked.example", { network: server.network, ...FAST });
      expect(found).toMatchObject({ pms: "Rentvine", confidence: "high", evidence_urls: ["https://acme.rentvine.com/portals/owner"] });
      const nothing = await detectCompanyPms("nothing.example", { network: server.network, ...FAST });
      expect(nothing).toMatchObject({ pms: null, confidence: "none" });
      // every portal path was tried; /about was not read once /contact made the second page
      const paths = server.requests.filter(hostOf("nothing.example")).map((r) => r.path);
      for (const path of FIXED_PATHS.filter((p) => p !== "/about")) expect(paths).toContain(path);
      expect(paths).not.toContain("/about");
      expect(nothing.fetched_urls.length).toBeLessThanOrEqual(15);
    });
  });

  it("reads a linked page as the second page before trying unlinked paths (no run of 404s)", async () => {
    const portal = '<a href="https://acme.managebuilding.com/Resident/portal/login">Tenant login</a>';
    await withServer({ "cheap.example": { files: { "/": html(`${portal} <a href="/about">About</a>`), "/about": html("<p>a</p>") } } }, async (server) => {
      const result = await detectCompanyPms("cheap.example", { network: server.network, ...FAST });
      expect(result).toMatchObject({ pms: "Buildium", confidence: "high" });
      expect(result.fetched_urls).toEqual(["https://cheap.example/robots.txt", "https://cheap.example/", "https://cheap.example/about"]);
    });
  });

  it("honours robots.txt: our group over *, longest match, Allow wins a tie, * and $ patterns", () => {
    const robots = parseRobots(
      "User-agent: *\nDisallow: /\n\nUser-agent: Googlebot\nUser-agent: pm-leads-pms-detector\nDisallow: /private\nAllow: /private/ok\n" +
        "Disallow: /*.php$\nAllow: /same\nDisallow: /same\n",
      "pm-leads-pms-detector",
    );
    expect(robots.allows("/")).toBe(true); // our group, not "*"
    expect(robots.allows("/private/x")).toBe(false);
    expect(robots.allows("/private/ok/x")).toBe(true);
    expect(robots.allows("/login.php")).toBe(false);
    expect(robots.allows("/login.php?x=1")).toBe(true);
    expect(robots.allows("/same")).toBe(true);
    const star = parseRobots("User-agent: *\nDisallow: /residents\nDisallow:\n", "pm-leads-pms-detector");
    expect([star.allows("/residents/a"), star.allows("/about"), star.allows("/robots.txt")]).toEqual([false, true, true]);
  });

  it("matches robots.txt rules in linear time: many * wildcards, a file of the maximum size", () => {
    const started = performance.now();
    // a regex of this rule backtracks exponentially on a path of a's without the final b
    const greedy = parseRobots(`User-agent: *\nDisallow: /${"*a".repeat(200)}*b\nAllow: /*$\n`, "pm-leads-pms-detector");
    expect(greedy.allows(`/${"a".repeat(2000)}`)).toBe(true);
    expect(greedy.allows(`/${"a".repeat(2000)}b`)).toBe(false);
    // 512 KiB of wildcard rules, every one tried against a long path
    const lines = Array.from({ length: 5000 }, (_, i) => `Disallow: /${"*a".repeat(48)}*${i}$`);
    const big = parseRobots(`User-agent: *\n${lines.join("\n")}\n`.padEnd(512 * 1024, "#"), "pm-leads-pms-detector");
    expect(big.allows(`/${"a".repeat(4000)}`)).toBe(true);
    expect(big.allows(`/${"a".repeat(4000)}4999`)).toBe(false);
    // a generous bound: the regexes took far longer than any test timeout
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("reads nothing when robots.txt is unreachable (5xx), everything when it is missing (404)", async () => {
    const sites = {
      "down.example": { files: { "/": html('<a href="https://x.managebuilding.com/">Residents</a>') }, failures: { "/robots.txt": 503 } },
      "open.example": { files: { "/": html('<a href="https://x.managebuilding.com/">Residents</a>'), "/about": html("about") } },
    };
    await withServer(sites, async (server) => {
      const down = await detectCompanyPms("down.example", { network: server.network, ...FAST });
      expect(down.confidence).toBe("unknown");
      expect(server.requests.filter(hostOf("down.example")).map((r) => r.path)).toEqual(["/robots.txt"]);
      const open = await detectCompanyPms("open.example", { network: server.network, ...FAST });
      expect(open).toMatchObject({ pms: "Buildium", confidence: "high" });
    });
  });

  it("keeps to the page budget and the request budget", async () => {
    const links = Array.from({ length: 20 }, (_, i) => `<a href="/residents-${i}">Residents ${i}</a>`).join(" ");
    const files: Record<string, string> = { "/": html(links) };
    for (let i = 0; i < 20; i++) files[`/residents-${i}`] = html(`<p>page ${i}</p>`);
    await withServer({ "many.example": { files }, "empty.example": { files: { "/": html("<p>hi</p>") } } }, async (server) => {
      const many = await fetchSite("many.example", { network: server.network, ...FAST, maxPages: 4 });
      expect(many.pages.map((p) => new URL(p.url).pathname)).toEqual(["/", "/residents-0", "/residents-1", "/residents-2"]);
      const empty = await fetchSite("empty.example", { network: server.network, ...FAST, maxRequests: 5 });
      expect(empty.requested).toHaveLength(5);
      expect(server.requests.filter(hostOf("empty.example"))).toHaveLength(5);
    });
  });

  it("stops reading a response at the size cap", async () => {
    const link = '<a href="https://big.managebuilding.com/Resident/portal/login">Residents</a>';
    const sites = {
      "big.example": { files: { "/": link, "/about": html("about") }, failures: { "/": { padBefore: 40_000_000 } } },
    };
    await withServer(sites, async (server) => {
      const result = await detectCompanyPms("big.example", { network: server.network, ...FAST, maxBytes: 64 * 1024 });
      expect(result.errors).toContainEqual({ url: "https://big.example/", error: `truncated at ${64 * 1024} bytes` });
      expect(result.pms).toBeNull(); // the link was past the cap
      // the server sees the response end: cut off by the detector, or (the bug) sent whole
      await waitFor("the server to see the big response end", () => server.ended.has("big.example/"), 10_000, 10);
      expect(server.bytesSent.get("big.example/")).toBeLessThan(40_000_000); // the download was cancelled (the kernel buffers a few MB)
    });
  });

  it("times out a page that hangs, before or after its headers, and goes on", async () => {
    const sites = {
      "slow.example": {
        files: { "/": html('<a href="/residents">Residents</a> <a href="/owners">Owners</a> <a href="/tenants">Tenants</a>'), "/tenants": html('<a href="https://slow.rmresident.com/">Login</a>') },
        failures: { "/residents": "hang" as const, "/owners": "hang-body" as const },
      },
    };
    await withServer(sites, async (server) => {
      const started = performance.now();
      const result = await detectCompanyPms("slow.example", { network: server.network, minIntervalMs: 5, timeoutMs: 300, maxPages: 10 });
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(result.errors).toContainEqual({ url: "https://slow.example/residents", error: "timeout after 300 ms" });
      expect(result.errors).toContainEqual({ url: "https://slow.example/owners", error: "timeout after 300 ms" });
      expect(result).toMatchObject({ pms: "Rent Manager", confidence: "high" });
    });
  });

  it("sends its User-Agent and only GETs, and never submits a login form", async () => {
    await withServer({ "forms.example": loadFixtureSites().find((s) => s.name === "no-pms")! }, async (server) => {
      await detectCompanyPms("forms.example", { network: server.network, ...FAST });
      expect(server.requests.length).toBeGreaterThan(2);
      for (const r of server.requests) expect(r).toMatchObject({ method: "GET", userAgent: USER_AGENT });
      expect(USER_AGENT).toMatch(/^pm-leads-pms-detector\/\S+ \(\+https?:\/\/\S+\)$/);
    });
  });

  it("spaces the requests to one site (www. included) by the minimum interval", async () => {
    const site = loadFixtureSites().find((s) => s.name === "propertyware-portal-www")!;
    await withServer({ [site.domain]: site }, async (server) => {
      await detectCompanyPms(site.domain, { network: server.network, minIntervalMs: 150, timeoutMs: 2_000 });
      const times = server.requests.map((r) => r.at);
      expect(new Set(server.requests.map((r) => r.host)).size).toBe(2); // apex and www.
      expect(times.length).toBeGreaterThanOrEqual(4);
      // the interval runs from one answer to the next request, so arrivals are at least that far apart
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(150);
    });
  });

  it("keeps the spacing across companies sharing a limiter, and honours a robots.txt Crawl-delay", async () => {
    const sites = {
      "delay.example": { files: { "/robots.txt": "User-agent: *\nCrawl-delay: 0.3\n", "/": html("<p>a</p>"), "/about": html("<p>b</p>") } },
    };
    await withServer(sites, async (server) => {
      const limiter = new HostRateLimiter(20);
      await Promise.all([
        fetchSite("delay.example", { network: server.network, rateLimiter: limiter, maxRequests: 4 }),
        fetchSite("www.delay.example", { network: server.network, rateLimiter: limiter, maxRequests: 4 }),
      ]);
      const times = server.requests.map((r) => r.at).sort((a, b) => a - b);
      expect(times.length).toBe(8);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20);
      // after robots.txt was read, the site's own delay applies
      expect(gaps.filter((g) => g >= 300).length).toBeGreaterThanOrEqual(4);
    });
  });

  it("stops when its AbortSignal fires", async () => {
    await withServer({ "hang.example": { files: {}, failures: { "/": "hang" } } }, async (server) => {
      const controller = new AbortController();
      const detecting = detectCompanyPms("hang.example", { network: server.network, minIntervalMs: 5, timeoutMs: 10_000, signal: controller.signal });
      // cancelled while its request hangs (not after a guessed delay): once the site has it
      await waitFor("the hanging request to reach the site", () => server.requests.some((r) => r.host === "hang.example" && r.path === "/"), 10_000, 10);
      controller.abort(new Error("run cancelled"));
      await expect(detecting).rejects.toThrow("run cancelled");
    });
  });
});

describe("the company's domain", () => {
  it("is normalised to the bare host", () => {
    expect(normalizeDomain("https://www.Acme.com/x?y=1")).toBe("acme.com");
    expect(normalizeDomain(" acme-pm.example. ")).toBe("acme-pm.example");
    expect(() => normalizeDomain("127.0.0.1")).toThrow(/not a domain/);
    expect(() => normalizeDomain("localhost")).toThrow(/not a domain/);
  });

  it("is never a vendor's portal host: that is evidence, not a company", async () => {
    const nowhere = { resolve: () => Promise.reject(new Error("must not look up")), allows: () => false, connect: () => { throw new Error("must not connect"); } };
    for (const portal of ["acme.managebuilding.com", "https://acme.appfolio.com/listings", "www.buildium.com"]) {
      const result = await detectCompanyPms(portal, { network: nowhere });
      expect(result).toMatchObject({ pms: null, confidence: "unknown", fetched_urls: [] });
      expect(result.errors[0].error).toMatch(/vendor's host/);
    }
  });
});

describe("a hostile site", () => {
  const portal = '<a href="https://acme.managebuilding.com/Resident/portal/login">Residents</a>';

  it("tells public addresses from this machine's and its networks'", () => {
    for (const address of ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]) {
      expect([address, isPublicAddress(address)]).toEqual([address, true]);
    }
    for (const address of ["127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
      "100.64.0.1", "100.127.255.255", "0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.1", "::1", "::", "fe80::1", "fd00::1",
      "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:7f00:1", "64:ff9b::a9fe:a9fe", "2002:a00:1::1", "ff02::1", "2001:db8::1",
      "fe80::1%eth0", "not-an-ip", ""]) {
      expect([address, isPublicAddress(address)]).toEqual([address, false]);
    }
    expect(PUBLIC_INTERNET.allows("127.0.0.1")).toBe(false); // production never allows loopback
  });

  it("never connects to a host that resolves to a private address, nor to a local name", async () => {
    const answers: Record<string, string[]> = {
      "loopback.example": ["127.0.0.1"], "metadata.example": ["169.254.169.254"], "private.example": ["10.0.0.5"],
      "cgnat.example": ["100.64.1.1"], "ula.example": ["fd12::1"], "mapped.example": ["::ffff:127.0.0.1"],
      "mixed.example": ["93.184.216.34", "192.168.0.10"],
    };
    const connected: string[] = [];
    const network: SiteNetwork = {
      resolve: (host) => Promise.resolve(answers[host.replace(/^www\./, "")] ?? []),
      allows: PUBLIC_INTERNET.allows, // the production policy
      connect: (address) => {
        connected.push(address);
        throw new Error("a test connects nowhere");
      },
    };
    for (const [domain, [address]] of Object.entries(answers)) {
      const result = await detectCompanyPms(domain, { network, ...FAST });
      expect(result).toMatchObject({ confidence: "unknown", pages_fetched: 0 });
      expect(result.errors[0].error).toMatch(/not a public address: refused/);
      if (domain !== "mixed.example") expect(result.errors[0].error).toContain(address);
    }
    // a local name is refused before any lookup, with the production network itself
    const local = await detectCompanyPms("acme.localhost", FAST);
    expect(local.errors[0].error).toMatch(/local name: refused/);
    expect(connected).toEqual([]);
  });

  it("connects to the address it checked: a resolver that answers differently the second time cannot send it to loopback", async () => {
    await withServer({ "rebind.example": { files: { "/": html(portal) } } }, async (server) => {
      const asked: string[] = [];
      const network: SiteNetwork = {
        // first a public address (it passes the check), then the loopback address the attacker wants
        resolve: (host) => Promise.resolve(asked.push(host) === 1 ? ["93.184.216.34"] : ["127.0.0.1"]),
        allows: PUBLIC_INTERNET.allows,
        connect: (address, url) => {
          if (address !== "93.184.216.34") return server.network.connect(address, url);
          throw new Error("a test connects nowhere but loopback");
        },
      };
      const result = await fetchSite("rebind.example", { network, ...FAST, maxRequests: 1 });
      expect(result.errors).toEqual([{ url: "https://rebind.example/", error: "robots.txt not read: a test connects nowhere but loopback" }]);
      expect(asked).toEqual(["rebind.example"]);
      expect(server.requests).toEqual([]);
    });
  });

  it("speaks TLS to the checked address and checks the certificate against the host name", async () => {
    const tls = (file: string) => readFileSync(new URL(`../fixtures/tls/${file}`, import.meta.url), "utf8");
    // a certificate for tls-site.example from a test CA, valid until 2036
    const server = createTlsServer({ key: tls("key.pem"), cert: tls("cert.pem") }, (req, res) => res.end(`hello ${req.headers.host}`));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const network: SiteNetwork = {
      resolve: () => Promise.resolve(["127.0.0.1"]),
      allows: (a) => a === "127.0.0.1",
      connect: (address, url) => connectTo(address, url, { port, ca: tls("ca.pem") }),
    };
    const get = (url: string) => siteGet(new URL(url), network, { headers: {}, signal: AbortSignal.timeout(5_000) });
    try {
      const response = await get("https://tls-site.example/");
      expect([response.status, await response.text()]).toEqual([200, "hello tls-site.example"]);
      await expect(get("https://other-name.example/")).rejects.toThrow(/certificate|altnames|NotValidForName/i);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a lookup that never answers times out like a request", async () => {
    const network: SiteNetwork = { resolve: () => new Promise(() => {}), allows: () => true, connect: () => { throw new Error("unreachable"); } };
    const result = await fetchSite("silent-dns.example", { network, minIntervalMs: 5, timeoutMs: 200, maxRequests: 1 });
    expect(result.errors).toEqual([{ url: "https://silent-dns.example/", error: "robots.txt not read: timeout after 200 ms" }]);
  });

  it("refuses redirects to other ports and from https to http, and detects redirect loops", async () => {
    const sites = {
      "hops.example": {
        files: { "/": html('<a href="/residents">Residents</a> <a href="https://hops.example:8443/owners">Owners</a>'), "/tenants": html(portal) },
        redirects: {
          "/residents": { location: "https://hops.example:8080/residents" },
          "/portal": { location: "http://hops.example/portal" },
          "/login": { location: "/login-2" },
          "/login-2": { location: "/login" },
        },
      },
    };
    await withServer(sites, async (server) => {
      const result = await fetchSite("hops.example", { network: server.network, ...FAST, maxPages: 20, maxRequests: 30 });
      expect(result.errors).toEqual(expect.arrayContaining([
        { url: "https://hops.example/residents", error: "port 8080 refused: only the default port of https:" },
        { url: "https://hops.example:8443/owners", error: "port 8443 refused: only the default port of https:" },
        { url: "https://hops.example/portal", error: "redirect from https to http refused (http://hops.example/portal)" },
        { url: "https://hops.example/login", error: "redirect loop at https://hops.example/login" },
      ]));
      expect(result.requested.filter((u) => /:8080|:8443|^http:/.test(u))).toEqual([]);
      expect(result.pages.map((p) => p.url)).toContain("https://hops.example/tenants"); // and the crawl went on
    });
  });

  it("skips a site whose Crawl-delay is above the cap, instead of obeying it", async () => {
    const sites = { "slowpoke.example": { files: { "/robots.txt": "User-agent: *\nCrawl-delay: 3600\n", "/": html(portal) } } };
    await withServer(sites, async (server) => {
      const result = await detectCompanyPms("slowpoke.example", { network: server.network, ...FAST });
      expect(result).toMatchObject({ pms: null, confidence: "unknown", pages_fetched: 0 });
      expect(result.errors).toContainEqual({ url: "https://slowpoke.example/", error: "crawl-delay 3600 s above the cap of 10 s: site skipped" });
      expect(server.requests.map((r) => r.path)).toEqual(["/robots.txt"]);
    });
  });

  it("ends at its total deadline with what it read by then", async () => {
    expect(PMS_CHECK_DEADLINE_MS).toBeGreaterThan(0);
    const sites = {
      "drip.example": {
        files: { "/": html(`${portal} <a href="/residents">Residents</a>`) },
        failures: { "/residents": "hang-body" as const, "/tenants": "hang-body" as const, "/owners": "hang-body" as const },
      },
    };
    await withServer(sites, async (server) => {
      // each page alone is within its timeout; together they are not within the deadline
      const result = await detectCompanyPms("drip.example", { network: server.network, minIntervalMs: 5, timeoutMs: 10_000, deadlineMs: 600 });
      expect(result.errors).toContainEqual({ url: "https://drip.example/", error: "deadline of 600 ms reached" });
      expect(result).toMatchObject({ pms: "Buildium", confidence: "high", pages_fetched: 1 });
    });
  });

  it("decodes gzip, stops a compression bomb at the cap, and keeps to the byte budget of the site", async () => {
    const sites = {
      "zipped.example": { files: { "/": html(portal), "/about": html("<p>about</p>") }, failures: { "/": "gzip" as const } },
      "bomb.example": { files: {}, failures: { "/": { gzipBomb: 20 * 1024 * 1024 } } },
      "heavy.example": {
        files: { "/": html('<a href="/residents">Residents</a>'), "/residents": "x", "/tenants": "x", "/owners": "x" },
        failures: { "/": { padBefore: 40_000 }, "/residents": { padBefore: 40_000 }, "/tenants": { padBefore: 40_000 }, "/owners": { padBefore: 40_000 } },
      },
    };
    await withServer(sites, async (server) => {
      expect(await detectCompanyPms("zipped.example", { network: server.network, ...FAST })).toMatchObject({ pms: "Buildium", confidence: "high" });
      const bomb = await detectCompanyPms("bomb.example", { network: server.network, ...FAST, maxBytes: 64 * 1024 });
      expect(bomb.errors).toContainEqual({ url: "https://bomb.example/", error: `truncated at ${64 * 1024} bytes` });
      const heavy = await fetchSite("heavy.example", { network: server.network, ...FAST, maxTotalBytes: 100_000 });
      const read = heavy.pages.reduce((sum, p) => sum + p.html.length, 0);
      expect(read).toBeLessThanOrEqual(100_000);
      expect(heavy.pages.length).toBeLessThan(4);
    });
  });

  it("a response that is not HTTP, or a page of binary bytes, is an error of that page, not a crash", async () => {
    const binary = String.fromCharCode(...Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) % 256));
    const sites = {
      "junk.example": {
        files: { "/": html(`${binary}<a href="/residents">Residents</a><a href="javascript:alert(1)">Owners</a><a href="data:,x">Portal</a>`), "/tenants": html(portal) },
        failures: { "/residents": "garbage" as const },
      },
    };
    await withServer(sites, async (server) => {
      const result = await detectCompanyPms("junk.example", { network: server.network, ...FAST, maxPages: 10 });
      expect(result.errors.find((e) => e.url === "https://junk.example/residents")?.error).toMatch(/malformed response/);
      expect(result).toMatchObject({ pms: "Buildium", confidence: "high" });
      expect(server.connections.every((a) => a === "127.0.0.1")).toBe(true);
    });
  });
});
