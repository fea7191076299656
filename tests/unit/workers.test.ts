import { describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { CompanyResearch, ContactSearch, Discovery, isDomainName, isHttpUrl, isStorableText } from "../../shared/domain/schemas.ts";
import { companyResearchWorker, isPersonName, leadListWorker, parseAnswer } from "../../shared/pipeline/research-kinds.ts";
import { NO_FAULTS, OfflineProvider, offlineSiteVerifier } from "../../shared/providers/offline/provider.ts";
import { workerConfig } from "../../shared/worker/config.ts";
import { Worker, type WorkerKind } from "../../shared/worker/runtime.ts";
import { isVendorHost } from "../../shared/pms/detector/evidence.ts";
import { ProviderError } from "../../shared/providers/types.ts";
import { realistic } from "../helpers/fake-openai.ts";

describe("what the workers refuse from a provider", () => {
  it.each(["Maria Delgado", "José Luis Ortega", "Mary-Kate O'Neil"])("accepts the person %s", (name) => {
    expect(isPersonName(name)).toBe(true);
  });

  it.each(["John Doe", "N/A", "Unknown", "Owner", "the owner", "Maria", "info@acme.example", "Agent 007", "Not listed"])(
    "refuses the placeholder %j",
    (name) => expect(isPersonName(name)).toBe(false),
  );

  it("never takes a portal or vendor host for a company's own domain", () => {
    expect(isVendorHost("acme.managebuilding.com")).toBe(true);
    expect(isVendorHost("acme.appfolio.com")).toBe(true);
    expect(isVendorHost("buildium.com")).toBe(true);
    expect(isVendorHost("acme-property.example")).toBe(false);
  });
});

describe("the worker's time budget", () => {
  const config = workerConfig({ WORKER_TIME_BUDGET_SECONDS: "60", WORKER_MIN_TASK_SECONDS: "10" });
  const provider = new OfflineProvider({ ...NO_FAULTS, timeoutMs: 90_000 });
  const make = (kind: WorkerKind) =>
    new Worker({ sql: {} as Sql, kind, tools: { provider, verifier: offlineSiteVerifier }, config, workerId: "w" });

  it("refuses a budget shorter than one task may take (the provider's timeout), naming the settings", () => {
    expect(() => make(leadListWorker)).toThrow(/WORKER_TIME_BUDGET_SECONDS \(60\) is shorter than one lead_list task may take \(90 s/);
  });

  it("research needs the provider's timeout and the PMS check's deadline", () => {
    const quick = new OfflineProvider({ ...NO_FAULTS, timeoutMs: 20_000 });
    const research = () => new Worker({ sql: {} as Sql, kind: companyResearchWorker, tools: { provider: quick, verifier: offlineSiteVerifier }, config, workerId: "w" });
    expect(research).not.toThrow(); // 20 s + 30 s fit in 60 s
    const slow = new OfflineProvider({ ...NO_FAULTS, timeoutMs: 40_000 });
    expect(() => new Worker({ sql: {} as Sql, kind: companyResearchWorker, tools: { provider: slow, verifier: offlineSiteVerifier }, config, workerId: "w" }))
      .toThrow(/company_research task may take \(70 s/);
  });
});

describe("URLs, domains and strings of an answer", () => {
  it.each(["https://www.acme.example/about", "http://acme.example", "https://acme.example/a?b=c#d"])("%s is an http(s) URL", (url) => {
    expect(isHttpUrl(url)).toBe(true);
  });

  it.each(["javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<script>", "file:///etc/passwd", "ftp://acme.example/",
    "//acme.example", "acme.example", " https://acme.example", "https://acme.example/a b", "https://acme.example/\u0000", "https://"])(
    "%j is not", (url) => expect(isHttpUrl(url)).toBe(false),
  );

  it("domains: what normalises to a host name (as in SQL), not names with spaces or IP addresses", () => {
    for (const ok of ["acme.example", "WWW.Acme-PM.example.", "https://www.acme.example/about", "xn--bcher-kva.example"]) expect(isDomainName(ok), ok).toBe(true);
    for (const bad of ["Acme PM.com", "acme", "acme_pm.com", "-acme.example", "acme-.example", "10.0.0.1", "acme..example", ""]) expect(isDomainName(bad), bad).toBe(false);
  });

  it("NUL and lone surrogates are not storable; paired surrogates (emoji) are", () => {
    expect(isStorableText("Acme 🏠 PM")).toBe(true);
    expect(isStorableText("Acme\u0000")).toBe(false);
    expect(isStorableText("Acme \uD83C")).toBe(false);
    expect(isStorableText("\uDC00 Acme")).toBe(false);
  });
});

describe("an answer is checked entry by entry", () => {
  const good = realistic.discovery.companies[0];
  const other = realistic.discovery.companies[1];

  it("bad companies are dropped with their reasons, the rest of the batch is kept", () => {
    const answer = {
      exhausted: false,
      companies: [
        good,
        { ...other, name: "Acme PM", domain: "Acme PM.com" },
        { ...other, name: "Script Rentals", domain: "script.example", website: "javascript:alert(document.cookie)" },
        { ...other, name: "Nul\u0000 Homes", domain: "nul.example" },
        { ...other, name: "Half Surrogate", domain: "half.example", city: "Austin \uD800" },
        { ...other, name: "Data Links", domain: "data.example", source_urls: ["https://data.example/", "data:text/html,<b>x</b>"] },
        other,
      ],
    };
    const { answer: parsed, dropped } = parseAnswer(Discovery, answer, "discovery");
    expect(parsed.companies.map((c) => c.domain)).toEqual([good.domain, other.domain]);
    expect(dropped).toEqual([
      { entry: 'companies[1] "Acme PM Acme PM.com"', reason: "domain: not a domain name" },
      { entry: 'companies[2] "Script Rentals script.example"', reason: "website: not an http(s) URL" },
      { entry: 'companies[3] "Nul\\u0000 Homes nul.example"', reason: "name: contains a NUL character or a lone surrogate" },
      { entry: 'companies[4] "Half Surrogate half.example"', reason: "city: contains a NUL character or a lone surrogate" },
      { entry: 'companies[5] "Data Links data.example"', reason: "source_urls.1: not an http(s) URL" },
    ]);
    // what is recorded can itself be stored
    expect(isStorableText(JSON.stringify(dropped))).toBe(true);
  });

  it("research: a bad URL of a list is dropped, a bad nullable field becomes null, the rest is kept", () => {
    const answer = {
      ...realistic.company_research,
      source_urls: ["https://www.hillcountrypm.example/", "file:///etc/passwd", "https://www.hillcountrypm.example/about"],
      units_source_url: "javascript:void(0)",
      agent_summary: "Manages 450 homes \uDC00",
    };
    const { answer: parsed, dropped } = parseAnswer(CompanyResearch, answer, "research");
    expect(parsed.source_urls).toEqual(["https://www.hillcountrypm.example/", "https://www.hillcountrypm.example/about"]);
    expect(parsed.units_source_url).toBeNull();
    expect(parsed.agent_summary).toBeNull();
    expect(parsed.units).toBe(450);
    expect(dropped.map((d) => d.reason)).toEqual([
      "not an http(s) URL; set to null",
      "contains a NUL character or a lone surrogate; set to null",
      "value: not an http(s) URL",
    ]);
    expect(dropped[2].entry).toBe('source_urls[1] "file:///etc/passwd"');
  });

  it("contacts: a javascript: LinkedIn URL drops that contact only", () => {
    const [maria, kevin] = realistic.contact_search.contacts;
    const { answer, dropped } = parseAnswer(ContactSearch, { exhausted: true, contacts: [maria, { ...kevin, linkedin_url: "javascript:alert(1)" }] }, "contacts");
    expect(answer.contacts.map((c) => c.full_name)).toEqual(["Maria Delgado"]);
    expect(dropped).toEqual([{ entry: 'contacts[1] "Kevin Tran"', reason: "linkedin_url: not an http(s) URL" }]);
  });

  it("an answer of the wrong shape is still invalid_output as a whole", () => {
    for (const bad of [{ companies: "three", exhausted: false }, { companies: [], exhausted: "no" }, null, [good]]) {
      expect(() => parseAnswer(Discovery, bad, "discovery")).toThrow(ProviderError);
      try {
        parseAnswer(Discovery, bad, "discovery");
      } catch (error) {
        expect(error).toMatchObject({ kind: "invalid_output", message: expect.stringMatching(/^malformed discovery from the provider: /) });
      }
    }
    // a required, non-nullable field of research cannot be dropped
    expect(() => parseAnswer(CompanyResearch, { ...realistic.company_research, pms_confidence: "certain" }, "research")).toThrow(/pms_confidence/);
  });
});
