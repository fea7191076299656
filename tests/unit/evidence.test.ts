// Evidence for every claim: which cited URLs are accepted (shared/pipeline/evidence.ts), whether a
// domain is the company's own (shared/pms/detector/site-owner.ts) and what becomes of a look-alike
// (qualify.ts), the offline world's traps, and the OpenAI provider's sources against the fake server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompanyResearch, type Criteria, type PageRead } from "../../shared/domain/schemas.ts";
import { evidenceKey, PagesRead } from "../../shared/pipeline/evidence.ts";
import { qualify } from "../../shared/pipeline/qualify.ts";
import { coreName, namesCompany, siteOwnership } from "../../shared/pms/detector/site-owner.ts";
import { evidenceOfCheck } from "../../shared/pms/detector/check-evidence.ts";
import { detectPms } from "../../shared/pms/detector/evidence.ts";
import { OfflineProvider, offlineSiteVerifier } from "../../shared/providers/offline/provider.ts";
import { companyAt, surfacesFor, teamPage, type WorldCompany } from "../../shared/providers/offline/world.ts";
import { OpenAIProvider } from "../../shared/providers/openai/provider.ts";
import type { CompanyRef } from "../../shared/providers/types.ts";
import { FakeOpenAI, realistic, replies } from "../helpers/fake-openai.ts";

const AT = "2026-12-03T05:00:00.000Z";
const read = (...urls: string[]): PageRead[] => urls.map((url) => ({ url, read_at: AT }));
const signal = () => new AbortController().signal;

describe("a cited URL is accepted only among the pages read", () => {
  it("compares without scheme, host case, default port, trailing slash and fragment; path case and query count", () => {
    const same = ["https://www.Acme.example/about/", "http://www.acme.example/about", "https://WWW.ACME.EXAMPLE:443/about#units",
      "https://www.acme.example./about//"];
    expect(new Set(same.map(evidenceKey))).toEqual(new Set(["www.acme.example/about"]));
    expect(evidenceKey("https://www.acme.example/About")).not.toBe(evidenceKey("https://www.acme.example/about"));
    expect(evidenceKey("https://www.acme.example/about?page=2")).not.toBe(evidenceKey("https://www.acme.example/about"));
    expect(evidenceKey("https://www.acme.example:8443/about")).toBe("www.acme.example:8443/about");
    expect(evidenceKey("https://acme.example/")).toBe("acme.example");
    expect(evidenceKey("javascript:alert(1)")).toBeNull();
    expect(evidenceKey("not a url")).toBeNull();
  });

  it("verified with the time of the read, unverified with its URL kept, none without a URL", () => {
    const pages = new PagesRead(read("https://www.acme.example/about", "https://www.acme.example/team"),
      [{ url: "https://www.acme.example/about", read_at: "2027-01-01T00:00:00.000Z" }]);
    expect(pages.evidence("http://WWW.acme.example/about/#units")).toEqual({ url: "http://WWW.acme.example/about/#units", read_at: AT, status: "verified" });
    expect(pages.evidence("https://www.acme.example/careers")).toEqual({ url: "https://www.acme.example/careers", read_at: null, status: "unverified" });
    // another host, however similar, is another page
    expect(pages.evidence("https://acme.example/about").status).toBe("unverified");
    expect(pages.evidence("https://www.acme-pm.example/about").status).toBe("unverified");
    expect(pages.evidence(null)).toEqual({ url: null, read_at: null, status: "none" });
    expect(pages.evidence("")).toEqual({ url: null, read_at: null, status: "none" });
    expect(new PagesRead().evidence("https://www.acme.example/about").status).toBe("unverified");
  });
});

describe("a company's domain must carry its name", () => {
  it("compares case, punctuation, & and the legal and trade words loosely", () => {
    expect(coreName("Lone Star Property Management, LLC")).toEqual(["lone", "star"]);
    expect(coreName("The Keystone Realty & Management Co.")).toEqual(["keystone"]);
    expect(coreName("Property Management Inc")).toEqual(["property"]);
    expect(namesCompany("Lone Star Property Management, LLC", "Welcome to LONE STAR Rentals!")).toBe(true);
    expect(namesCompany("Red Oak Homes Inc.", "© 2025 Red-Oak Homes. All rights reserved.")).toBe(true);
    expect(namesCompany("Cornerstone Rentals", "CornerstoneRentals — homes for rent")).toBe(true);
    expect(namesCompany("Lone Star Rentals", "lonestarpm | Austin")).toBe(true);
    expect(namesCompany("Hill Country Property Management", "HCPM: resident login")).toBe(true);
    expect(namesCompany("Señor Homes", "Senor Homes of Austin")).toBe(true);
  });

  it("a page with another name on it does not match, nor a name's word inside another word", () => {
    expect(namesCompany("Lone Star Property Management", "Riverbend Property Management")).toBe(false);
    expect(namesCompany("Summit Rentals", "We summited Mount Bonnell")).toBe(false);
    expect(namesCompany("Pecan Homes", "")).toBe(false);
  });

  const page = (html: string) => ({ url: "https://acme.example/", html });
  it("reads the title, og:site_name, the visible text and the copyright line of the homepage", () => {
    const name = "Magnolia Property Management LLC";
    expect(siteOwnership(name, page("<html><head><title>Magnolia PM | Austin</title></head><body>Homes</body></html>")))
      .toEqual({ verdict: "matches", site_name: "Magnolia PM | Austin" });
    expect(siteOwnership(name, page('<html><head><meta property="og:site_name" content="Magnolia Property Mgmt"><title>Home</title></head></html>')))
      .toEqual({ verdict: "matches", site_name: "Magnolia Property Mgmt" });
    expect(siteOwnership(name, page("<html><body><p>We manage homes.</p><footer>&copy; 2025 Magnolia Property Management</footer></body></html>")).verdict)
      .toBe("matches");
    expect(siteOwnership(name, page("<html><body><h1>Magnolia</h1></body></html>")).verdict).toBe("matches");
  });

  it("a look-alike says whose site it is; a page without words or no page says nothing", () => {
    expect(siteOwnership("Magnolia Property Management", page("<html><head><title>Magnolia Grove Apartments</title></head></html>")).verdict)
      .toBe("matches"); // loose: the brand is there; a person looks at the PMS and units as for any other company
    expect(siteOwnership("Magnolia Property Management", page("<html><head><title>Canyon Residential</title></head><body>Austin homes</body></html>")))
      .toEqual({ verdict: "mismatch", site_name: "Canyon Residential" });
    expect(siteOwnership("Magnolia Property Management", page("<html><body><script>location='/x'</script></body></html>")).verdict).toBe("unknown");
    expect(siteOwnership("Magnolia Property Management", null)).toEqual({ verdict: "unknown", site_name: null });
  });

  const research = CompanyResearch.parse({
    pms: "Buildium", pms_confidence: "high", pms_evidence_urls: ["https://x.managebuilding.com/Resident/portal/login"], units: 300,
    units_estimated: true, units_quote: null, units_source_url: null, single_family_focus: null, property_mix: null, employees: null,
    icp_fit: null, icp_score: null, icp_tier: null, disqualifiers: [], agent_summary: null, source_urls: [],
  });
  it("a look-alike goes to review with its own reason code, whatever else qualifies it; unknown does not hold it back", () => {
    const criteria: Criteria = { pms: "Buildium", units_min: 100 };
    expect(qualify(criteria, research, { domain_evidence: "mismatch", site_name: "Canyon Residential" })).toEqual({
      status: "review", code: "domain_mismatch",
      reason: 'the domain\'s homepage does not carry the company\'s name (it calls itself "Canyon Residential"): a look-alike or unrelated domain',
    });
    expect(qualify(criteria, { ...research, disqualifiers: ["HOA-only"] }, { domain_evidence: "mismatch", site_name: null }).code).toBe("domain_mismatch");
    expect(qualify(criteria, research, { domain_evidence: "matches", site_name: "X" }).status).toBe("accepted");
    expect(qualify(criteria, research, { domain_evidence: "unknown", site_name: null }).status).toBe("accepted");
  });
});

describe("the PMS check's evidence", () => {
  it("the PMS page is the page that links to the portal, with its read time; a redirect's is the URL redirected from", () => {
    const pages = [
      { url: "https://acme.example/", html: "<title>Acme Rentals</title><a href='/residents'>Residents</a>", read_at: "2026-12-03T05:00:01.000Z" },
      { url: "https://acme.example/residents", html: "<a href='https://acme.managebuilding.com/Resident/portal/login'>Resident login</a>",
        read_at: "2026-12-03T05:00:02.000Z" },
    ];
    const detection = detectPms(pages);
    const evidence = evidenceOfCheck(detection, pages, [], "Acme Rentals LLC", AT);
    expect(evidence).toEqual({
      pages_fetched: 2,
      pages_read: [{ url: "https://acme.example/", read_at: "2026-12-03T05:00:01.000Z" }, { url: "https://acme.example/residents", read_at: "2026-12-03T05:00:02.000Z" }],
      pms_page: { url: "https://acme.example/residents", read_at: "2026-12-03T05:00:02.000Z" },
      owner: { verdict: "matches", site_name: "Acme Rentals" },
    });
    const redirected = detectPms(pages.slice(0, 1), ["https://acme.managebuilding.com/Resident/portal/login"]);
    expect(evidenceOfCheck(redirected, pages.slice(0, 1), [{ from: "https://acme.example/pay-rent", to: "https://acme.managebuilding.com/Resident/portal/login" }],
      undefined, AT)).toMatchObject({ pms_page: { url: "https://acme.example/pay-rent", read_at: AT }, owner: { verdict: "unknown" } });
  });
});

describe("the offline world's evidence", () => {
  const criteria: Criteria = { pms: "Buildium", state: "TX" };
  const surfaced: WorldCompany[] = [];
  for (let i = 0; surfaced.length < 40; i++) {
    const company = companyAt({ state: "TX", city: null }, i);
    if (surfacesFor(company, ["Buildium"])) surfaced.push(company);
  }
  const ref = (c: WorldCompany): CompanyRef => ({ id: "00000000-0000-4000-8000-000000000001", name: c.name, domain: c.domain,
    website: `https://${c.domain}/`, city: c.city, state: c.state });

  it("has look-alike sites and unread unit pages among the first companies a demo meets", () => {
    expect(surfaced.slice(0, 10).some((c) => c.siteOf !== null)).toBe(true);
    expect(surfaced.slice(0, 10).some((c) => c.unitsFromUnreadPage)).toBe(true);
    // a minority: the demo's run still fills
    expect(surfaced.filter((c) => c.siteOf !== null).length).toBeLessThan(5);
  });

  it("its verifier reads the company's name on its own site, and another name on a look-alike", async () => {
    for (const company of surfaced.slice(0, 10)) {
      const check = await offlineSiteVerifier.verify({ domain: company.domain, companyName: company.name, criteria, signal: signal() });
      expect(check.owner.verdict).toBe(company.siteOf ? "mismatch" : "matches");
      expect(check.pages_read.map((p) => p.url)).toContain(`https://${company.domain}/`);
      if (check.pms) expect(check.pms_page?.url).toBe(`https://${company.domain}/residents`);
    }
  });

  it("its provider tells the pages it read; its unit and contact pages are among them unless it is the unread-page trap", async () => {
    const provider = new OfflineProvider();
    for (const company of surfaced.slice(0, 10)) {
      let pages: PageRead[] = [];
      const research = CompanyResearch.parse(await provider.researchCompany({ criteria, company: ref(company), signal: signal(), onRead: (p) => (pages = p) }));
      expect(new PagesRead(pages).evidence(research.units_source_url).status).toBe(company.unitsFromUnreadPage ? "unverified" : "verified");
      const found = await provider.findContacts({ criteria, company: ref(company), count: 3, existing: [], signal: signal(), onRead: (p) => (pages = p) });
      for (const contact of found.contacts) {
        expect(contact.title_source_url).toBe(teamPage(company));
        expect(new PagesRead(pages).evidence(contact.title_source_url).status).toBe("verified");
        expect(contact.email_source_url).toBe(contact.email_class === "published" ? teamPage(company) : null);
      }
    }
  });
});

describe("the OpenAI provider keeps its web searches' sources", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await fake.close();
  });
  const company: CompanyRef = { id: "00000000-0000-4000-8000-000000000001", name: "Hill Country Property Management",
    domain: "hillcountrypm.example", website: "https://www.hillcountrypm.example/", city: "Austin", state: "TX" };
  const criteria: Criteria = { pms: "Buildium", state: "TX" };
  const provider = () => new OpenAIProvider({ apiKey: "sk-test-key", baseURL: fake.baseURL });

  it("asks for them, tells every URL of every search with the response's creation time, and they verify the cited pages", async () => {
    let pages: PageRead[] = [];
    const sources: string[][] = [];
    const p = new OpenAIProvider({ apiKey: "sk-test-key", baseURL: fake.baseURL, onUsage: (_u, call) => sources.push(call.sources) });
    const answer = CompanyResearch.parse(await p.researchCompany({ criteria, company, signal: signal(), onRead: (read) => (pages = read) }));
    const request = fake.requests.at(-1)!;
    expect(request.body.include).toEqual(["web_search_call.action.sources"]);
    expect(pages.map((r) => r.url)).toEqual(["https://www.hillcountrypm.example/about", "https://www.hillcountrypm.example/", "https://www.hillcountrypm.example/residents"]);
    expect(sources).toEqual([pages.map((r) => r.url)]);
    // the time of the call is the response's created_at (whole seconds)
    expect(new Set(pages.map((r) => r.read_at)).size).toBe(1);
    expect(pages[0].read_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(new PagesRead(pages).evidence(answer.units_source_url)).toMatchObject({ status: "verified", read_at: pages[0].read_at });
  });

  it("a URL the model cites that none of its searches read is unverified, and kept", async () => {
    let pages: PageRead[] = [];
    fake.reply(replies.json({ ...realistic.company_research, units_source_url: "https://www.hillcountrypm.example/about-us/our-portfolio" },
      { searches: [{ query: "hill country pm", sources: ["https://www.hillcountrypm.example/", "https://www.hillcountrypm.example/about"] }] }));
    const answer = CompanyResearch.parse(await provider().researchCompany({ criteria, company, signal: signal(), onRead: (read) => (pages = read) }));
    expect(new PagesRead(pages).evidence(answer.units_source_url))
      .toEqual({ url: "https://www.hillcountrypm.example/about-us/our-portfolio", read_at: null, status: "unverified" });

    // contacts: the realistic answer cites the team page (searched) and a LinkedIn profile (searched); a search without the profile leaves it unverified
    fake.reply(replies.json(realistic.contact_search, { searches: [{ query: "team", sources: ["https://www.hillcountrypm.example/team/"] }] }));
    const found = await provider().findContacts({ criteria, company, count: 2, existing: [], signal: signal(), onRead: (read) => (pages = read) }) as typeof realistic.contact_search;
    const evidence = new PagesRead(pages);
    expect(found.contacts.map((c) => [evidence.evidence(c.title_source_url).status, evidence.evidence(c.email_source_url).status]))
      .toEqual([["verified", "verified"], ["unverified", "none"]]);
  });

  it("in background mode too: the sources of the response polled to its end, with its creation time", async () => {
    fake.background.durationMs = 200;
    const values: Record<string, unknown> = {};
    const checkpoints = { deadline: Date.now() + 60_000, saved: (name: string) => values[name], save: async (name: string, value: unknown) => void (values[name] = value) };
    let pages: PageRead[] = [];
    const p = new OpenAIProvider({ apiKey: "sk-test-key", baseURL: fake.baseURL, background: "on" });
    const answer = CompanyResearch.parse(await p.researchCompany({ criteria, company, signal: signal(), checkpoints, onRead: (read) => (pages = read) }));
    expect(fake.requests.some((r) => r.method === "GET" && /^\/v1\/responses\/resp_/.test(r.path))).toBe(true);
    expect(pages.map((r) => r.url)).toContain("https://www.hillcountrypm.example/about");
    expect(new PagesRead(pages).evidence(answer.units_source_url).status).toBe("verified");
  });

  it("an answer with no search at all verifies nothing", async () => {
    let pages: PageRead[] | undefined;
    fake.reply(replies.json(realistic.company_research, { searches: [] }));
    const answer = CompanyResearch.parse(await provider().researchCompany({ criteria, company, signal: signal(), onRead: (read) => (pages = read) }));
    expect(pages).toEqual([]);
    expect(new PagesRead(pages!).evidence(answer.units_source_url).status).toBe("unverified");
  });
});
