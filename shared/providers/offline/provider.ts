// The offline research provider: answers from the synthetic world (world.ts), with configurable
// latency and injected faults (rate limits, server errors, timeouts) so that retries, leases and
// benchmarks can be exercised without a network or a key.
import { detectPms } from "../../pms/detector/evidence.ts";
import { evidenceOfCheck } from "../../pms/detector/check-evidence.ts";
import type { PmsVerifier } from "../../pms/verifier.ts";
import type { CompanyResearch, Contact, ContactSearch, Criteria, Discovery, DiscoveredCompany, PageRead } from "../../domain/schemas.ts";
import { sleep as wait } from "../../lib/abort.ts";
import { ProviderError, type CompanyRef, type ExistingContact, type OnRead, type ResearchProvider } from "../types.ts";
import { companyByDomain, companyAt, markets, marketSize, surfacesFor, teamPage, wantedPms, website, type WorldCompany } from "./world.ts";

export interface FaultConfig {
  /** probability per call of a 429 with retry-after */
  rateLimit: number;
  /** probability per call of a 5xx */
  serverError: number;
  /** probability per call of a hang until timeoutMs, then a timeout error */
  timeout: number;
  /** probability per call of a permanent refusal (400 invalid request): never retried */
  invalidRequest: number;
  latencyMs: number;
  timeoutMs: number;
  retryAfterMs: number;
}

export const NO_FAULTS: FaultConfig = { rateLimit: 0, serverError: 0, timeout: 0, invalidRequest: 0, latencyMs: 0, timeoutMs: 2000, retryAfterMs: 100 };

/** Parses "rate_limit=0.1,server_error=0.05,timeout=0.05,invalid_request=0.01" (PM_LEADS_OFFLINE_FAULTS). */
export function parseFaults(spec: string | undefined, base: FaultConfig = NO_FAULTS): FaultConfig {
  const config = { ...base };
  const names: Record<string, keyof FaultConfig> = {
    rate_limit: "rateLimit", server_error: "serverError", timeout: "timeout", invalid_request: "invalidRequest",
    latency_ms: "latencyMs", timeout_ms: "timeoutMs", retry_after_ms: "retryAfterMs",
  };
  for (const part of (spec ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = part.split("=");
    const field = names[name?.trim()];
    const number = Number(value);
    if (!field || !Number.isFinite(number) || number < 0) {
      throw new Error(`bad fault setting "${part}": use ${Object.keys(names).join(", ")} with a number >= 0`);
    }
    config[field] = number;
  }
  return config;
}

const RESEARCH_NOTE = "[synthetic] offline provider: a generated company, not a real lead.";

function discovered(company: WorldCompany): DiscoveredCompany {
  return {
    name: company.name,
    domain: company.domain,
    website: `https://${company.domain}/`,
    city: company.city,
    state: company.state,
    pms: company.pms,
    source_urls: [`https://${company.domain}/`],
  };
}

function research(company: WorldCompany): CompanyResearch {
  const pages = website(company);
  const detection = detectPms(pages);
  const sf = company.singleFamilyShare;
  return {
    pms: detection.pms,
    pms_confidence: detection.confidence,
    pms_evidence_urls: detection.evidence_urls,
    units: company.units,
    units_estimated: true,
    units_quote: `We manage over ${company.units} units`,
    // the trap: a page the site does not have, so that no search read it
    units_source_url: company.unitsFromUnreadPage ? `https://${company.domain}/about-us` : pages[0].url,
    single_family_focus: sf >= 0.6 ? "yes" : sf >= 0.3 ? "mixed" : "no",
    property_mix: `${Math.round(sf * 100)}% single-family, ${100 - Math.round(sf * 100)}% multifamily`,
    employees: company.employees,
    icp_fit: company.units >= 100 && company.units <= 2000 ? "strong" : "weak",
    icp_score: Math.min(100, Math.round(40 + sf * 40 + (company.units >= 100 ? 20 : 0))),
    icp_tier: company.units >= 150 ? 1 : company.units >= 50 ? 2 : 3,
    disqualifiers: company.hoaOnly ? ["HOA-only management"] : [],
    agent_summary: `${RESEARCH_NOTE} ${company.name} manages about ${company.units} units in ${company.city}, ${company.state}.`,
    source_urls: pages.map((p) => p.url),
  };
}

function contact(person: WorldCompany["people"][number], company: WorldCompany): Contact {
  return {
    ...person,
    title_source_url: teamPage(company),
    email_source_url: person.email_class === "published" ? teamPage(company) : null,
    department: person.title_tier <= 2 ? "Executive" : person.title_tier <= 4 ? "Operations" : "Administration",
    seniority: person.title_tier <= 1 ? "owner" : person.title_tier <= 2 ? "vp" : person.title_tier <= 3 ? "director" : "staff",
    quality_score: Math.max(10, 100 - (person.title_tier - 1) * 15 - (person.email_class === "published" ? 0 : 20)),
    icp_score: null,
    personalization_notes: `[synthetic] ${person.title} at ${company.name}`,
    personal_anecdotes: null,
    professional_anecdotes: null,
    additional_research_notes: null,
    agent_summary: RESEARCH_NOTE,
    source_urls: [teamPage(company), ...(person.linkedin_url ? [person.linkedin_url] : [])],
  };
}

/** What a call of the offline world "read": these pages, now. */
const readNow = (urls: string[]): PageRead[] => {
  const at = new Date().toISOString();
  return urls.map((url) => ({ url, read_at: at }));
};

export class OfflineProvider implements ResearchProvider {
  readonly name = "offline";
  constructor(
    private readonly faults: FaultConfig = NO_FAULTS,
    private readonly random: () => number = Math.random,
    /** called for every answer given (what a remote API would bill), so that calls per task are on record */
    private readonly onAnswer: () => void = () => {},
  ) {}

  get timeoutMs(): number {
    return this.faults.latencyMs + this.faults.timeoutMs;
  }

  /** Latency, then maybe an injected fault, like a remote API. */
  private async call<T>(signal: AbortSignal, answer: () => T): Promise<T> {
    await wait(this.faults.latencyMs, signal);
    const roll = this.random();
    const { rateLimit, serverError, timeout } = this.faults;
    if (roll < rateLimit) {
      throw new ProviderError("rate_limit", "429 rate_limit_exceeded (injected)", this.faults.retryAfterMs);
    }
    if (roll < rateLimit + serverError) throw new ProviderError("server", "503 server overloaded (injected)");
    if (roll < rateLimit + serverError + timeout) {
      await wait(this.faults.timeoutMs, signal);
      throw new ProviderError("timeout", `no answer within ${this.faults.timeoutMs} ms (injected)`);
    }
    if (roll < rateLimit + serverError + timeout + this.faults.invalidRequest) {
      throw new ProviderError("invalid_input", "400 invalid request (injected)");
    }
    this.onAnswer();
    return answer();
  }

  discoverCompanies(input: { criteria: Criteria; count: number; exclude: string[]; signal: AbortSignal }): Promise<Discovery> {
    return this.call(input.signal, () => {
      const exclude = new Set(input.exclude);
      const pms = wantedPms(input.criteria);
      const companies: DiscoveredCompany[] = [];
      let exhausted = true;
      search: for (const market of markets(input.criteria)) {
        for (let i = 0; i < marketSize(market); i++) {
          const company = companyAt(market, i);
          if (exclude.has(company.domain) || !surfacesFor(company, pms)) continue;
          if (companies.length === input.count) {
            exhausted = false;
            break search;
          }
          companies.push(discovered(company));
        }
      }
      return { companies, exhausted };
    });
  }

  researchCompany(input: { criteria: Criteria; company: CompanyRef; signal: AbortSignal; onRead?: OnRead }): Promise<CompanyResearch> {
    return this.call(input.signal, () => {
      const company = companyByDomain(input.criteria, input.company.domain);
      if (!company) throw new ProviderError("invalid_input", `no such company in the synthetic world: ${input.company.domain}`);
      input.onRead?.(readNow(website(company).map((p) => p.url)));
      return research(company);
    });
  }

  findContacts(input: { criteria: Criteria; company: CompanyRef; count: number; existing: ExistingContact[]; signal: AbortSignal;
    onRead?: OnRead }): Promise<ContactSearch> {
    return this.call(input.signal, () => {
      const company = companyByDomain(input.criteria, input.company.domain);
      if (!company) throw new ProviderError("invalid_input", `no such company in the synthetic world: ${input.company.domain}`);
      const known = new Set(input.existing.map((c) => c.email?.toLowerCase()));
      const fresh = company.people
        .filter((p) => !known.has(p.email?.toLowerCase()))
        .filter((p) => p.title_tier <= 3) // decision makers only: owners, VPs, operations
        .sort((a, b) => a.title_tier - b.title_tier);
      const contacts = fresh.slice(0, input.count).map((p) => contact(p, company));
      input.onRead?.(readNow([teamPage(company), ...contacts.flatMap((c) => (c.linkedin_url ? [c.linkedin_url] : []))]));
      return { contacts, exhausted: fresh.length <= input.count };
    });
  }
}

/** The PMS check against the synthetic sites (the offline world has no HTTP sites to read). */
export const offlineSiteVerifier: PmsVerifier = {
  verify: ({ domain, companyName, criteria }) => {
    const company = companyByDomain(criteria, domain);
    const at = new Date().toISOString();
    const pages = company ? website(company).map((p) => ({ ...p, read_at: at })) : [];
    const detection = detectPms(pages);
    return Promise.resolve({ ...detection, ...evidenceOfCheck(detection, pages, [], companyName, at) });
  },
};
