// What a research provider may return, as zod schemas: every provider output is parsed with these
// before anything is written, so a malformed or invented shape never reaches the database.
import { z } from "zod";

/** NUL (Postgres text refuses it) or a UTF-16 surrogate without its pair (jsonb refuses it). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const isStorableText = (value: string): boolean => !UNSTORABLE.test(value);

/** Any string of a provider's answer: it must be storable as it is. */
const str = () => z.string().refine(isStorableText, "contains a NUL character or a lone surrogate");
const text = (max: number) => str().trim().min(1).max(max);

/**
 * An absolute http(s) URL, nothing else: zod's url() accepts javascript:, data: and file:, which would
 * reach the CSVs as links. No whitespace or control characters (URL() would quietly strip or encode them).
 */
export function isHttpUrl(value: string): boolean {
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
const url = str().max(2000).refine(isHttpUrl, "not an http(s) URL");

/** The form every domain is stored in (pm_pipeline.normalize_domain in SQL, the same steps). */
export function normalizeDomain(value: string): string {
  return value.trim().toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "") // scheme
    .replace(/^[^/?#@]*@/, "") // user info
    .replace(/[/?#:].*$/, "") // port, path, query
    .replace(/^(www\.)+|\.+$/g, "");
}

/** A host name once normalised: dot-separated labels of letters, digits and inner hyphens; not an IP address. */
export function isDomainName(value: string): boolean {
  const domain = normalizeDomain(value);
  return domain.length <= 253 && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/.test(domain) &&
    !/^\d+$/.test(domain.slice(domain.lastIndexOf(".") + 1));
}

export const Criteria = z.object({
  pms: z.union([text(100), z.array(text(100)).min(1), z.null()]).optional(),
  state: text(100).optional(),
  states: z.array(text(100)).optional(),
  city: text(100).optional(),
  units_min: z.number().int().min(0).max(1_000_000).optional(),
  units_max: z.number().int().min(0).max(1_000_000).optional(),
}).strict();
export type Criteria = z.infer<typeof Criteria>;

export const DiscoveredCompany = z.object({
  name: text(300),
  /** the company's own site, never a PMS portal host */
  domain: text(253).refine(isDomainName, "not a domain name"),
  website: url.nullable(),
  city: str().max(100).nullable(),
  state: str().max(100).nullable(),
  /** the PMS the discovery evidence points to (verified later by research) */
  pms: str().max(100).nullable(),
  source_urls: z.array(url).max(20),
});
export type DiscoveredCompany = z.infer<typeof DiscoveredCompany>;

export const Discovery = z.object({
  companies: z.array(DiscoveredCompany).max(100),
  /** true when the provider has no more companies for these criteria */
  exhausted: z.boolean(),
});
export type Discovery = z.infer<typeof Discovery>;

export const PmsConfidence = z.enum(["high", "medium", "low", "none", "unknown"]);
export type PmsConfidence = z.infer<typeof PmsConfidence>;

/**
 * A page read, and when (ISO 8601): one a provider's web search read (OpenAI's
 * web_search_call.action.sources, the offline world's pages) or one the PMS check fetched. A URL an
 * answer cites as evidence is accepted only when it is among these (shared/pipeline/evidence.ts).
 */
export interface PageRead {
  url: string;
  read_at: string;
}

/**
 * What stands behind a claim: verified (its URL is a page that was read), unverified (a URL was
 * cited, but no search or fetch read it: kept, flagged), none (no URL was given).
 */
export const EvidenceStatus = z.enum(["verified", "unverified", "none"]);
export type EvidenceStatus = z.infer<typeof EvidenceStatus>;

/**
 * Whether a company's domain is its own: its name or brand on the homepage the PMS check read
 * (matches), another name there (mismatch: a look-alike or unrelated domain), or nothing read (unknown).
 */
export const DomainEvidence = z.enum(["matches", "mismatch", "unknown"]);
export type DomainEvidence = z.infer<typeof DomainEvidence>;

/** The verdict on a domain, and what its homepage calls itself (for the person who reviews it). */
export interface SiteOwnership {
  verdict: DomainEvidence;
  /** the homepage's own name for itself (og:site_name, else its title), when one was read */
  site_name: string | null;
}

/** What the PMS check of a company's own site found: it replaces the provider's claim before qualify decides. */
export interface PmsDetection {
  pms: string | null;
  confidence: PmsConfidence;
  evidence_urls: string[];
}

export const CompanyResearch = z.object({
  pms: str().max(100).nullable(),
  pms_confidence: PmsConfidence,
  pms_evidence_urls: z.array(url).max(20),
  /** "unknown" is an answer: null, never an invented value */
  units: z.number().int().min(0).max(1_000_000).nullable(),
  units_estimated: z.boolean(),
  units_quote: str().max(500).nullable(),
  units_source_url: url.nullable(),
  single_family_focus: str().max(100).nullable(),
  property_mix: str().max(300).nullable(),
  employees: z.number().int().min(0).max(1_000_000).nullable(),
  icp_fit: str().max(100).nullable(),
  icp_score: z.number().int().min(0).max(100).nullable(),
  icp_tier: z.number().int().min(1).max(3).nullable(),
  disqualifiers: z.array(str().max(200)).max(20),
  agent_summary: str().max(2000).nullable(),
  source_urls: z.array(url).max(30),
});
export type CompanyResearch = z.infer<typeof CompanyResearch>;

export const EmailClass = z.enum(["published", "pattern_inferred", "generic_role", "personal", "unknown"]);
export type EmailClass = z.infer<typeof EmailClass>;

export const Contact = z.object({
  full_name: text(200),
  title: str().max(200).nullable(),
  title_tier: z.number().int().min(1).max(6).nullable(),
  email: str().email().max(320).nullable(),
  email_class: EmailClass,
  linkedin_url: url.nullable(),
  /** the page that shows the title, and the one that shows the e-mail (null: none) */
  title_source_url: url.nullable(),
  email_source_url: url.nullable(),
  department: str().max(100).nullable(),
  seniority: str().max(100).nullable(),
  quality_score: z.number().int().min(0).max(100).nullable(),
  icp_score: z.number().int().min(0).max(100).nullable(),
  personalization_notes: str().max(2000).nullable(),
  personal_anecdotes: str().max(2000).nullable(),
  professional_anecdotes: str().max(2000).nullable(),
  additional_research_notes: str().max(2000).nullable(),
  agent_summary: str().max(2000).nullable(),
  source_urls: z.array(url).max(20),
});
export type Contact = z.infer<typeof Contact>;

export const ContactSearch = z.object({
  contacts: z.array(Contact).max(20),
  exhausted: z.boolean(),
});
export type ContactSearch = z.infer<typeof ContactSearch>;

/** What a task payload of each kind carries (written by the SQL of supabase/schemas/04_pipeline.sql). */
export const DiscoveryPayload = z.object({ count: z.number().int().min(1), batch: z.number().int().min(1) });
export const CompanyPayload = z.object({ company_id: z.string().uuid() });
