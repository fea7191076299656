// What a research provider may return, as zod schemas: every provider output is parsed with these
// before anything is written, so a malformed or invented shape never reaches the database.
import { z } from "zod";

const url = z.string().url().max(2000);
const text = (max: number) => z.string().trim().min(1).max(max);

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
  domain: text(253),
  website: url.nullable(),
  city: z.string().max(100).nullable(),
  state: z.string().max(100).nullable(),
  /** the PMS the discovery evidence points to (verified later by research) */
  pms: z.string().max(100).nullable(),
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

export const CompanyResearch = z.object({
  pms: z.string().max(100).nullable(),
  pms_confidence: PmsConfidence,
  pms_evidence_urls: z.array(url).max(20),
  /** "unknown" is an answer: null, never an invented value */
  units: z.number().int().min(0).max(1_000_000).nullable(),
  units_estimated: z.boolean(),
  units_quote: z.string().max(500).nullable(),
  units_source_url: url.nullable(),
  single_family_focus: z.string().max(100).nullable(),
  property_mix: z.string().max(300).nullable(),
  employees: z.number().int().min(0).max(1_000_000).nullable(),
  icp_fit: z.string().max(100).nullable(),
  icp_score: z.number().int().min(0).max(100).nullable(),
  icp_tier: z.number().int().min(1).max(3).nullable(),
  disqualifiers: z.array(z.string().max(200)).max(20),
  agent_summary: z.string().max(2000).nullable(),
  source_urls: z.array(url).max(30),
});
export type CompanyResearch = z.infer<typeof CompanyResearch>;

export const EmailClass = z.enum(["published", "pattern_inferred", "generic_role", "personal", "unknown"]);

export const Contact = z.object({
  full_name: text(200),
  title: z.string().max(200).nullable(),
  title_tier: z.number().int().min(1).max(6).nullable(),
  email: z.string().email().max(320).nullable(),
  email_class: EmailClass,
  linkedin_url: url.nullable(),
  department: z.string().max(100).nullable(),
  seniority: z.string().max(100).nullable(),
  quality_score: z.number().int().min(0).max(100).nullable(),
  icp_score: z.number().int().min(0).max(100).nullable(),
  personalization_notes: z.string().max(2000).nullable(),
  personal_anecdotes: z.string().max(2000).nullable(),
  professional_anecdotes: z.string().max(2000).nullable(),
  additional_research_notes: z.string().max(2000).nullable(),
  agent_summary: z.string().max(2000).nullable(),
  source_urls: z.array(url).max(20),
});
export type Contact = z.infer<typeof Contact>;

export const ContactSearch = z.object({
  contacts: z.array(Contact).max(20),
  exhausted: z.boolean(),
});
export type ContactSearch = z.infer<typeof ContactSearch>;

/** What a task payload of each kind carries (written by the SQL in *_pipeline_flow.sql). */
export const DiscoveryPayload = z.object({ count: z.number().int().min(1), batch: z.number().int().min(1) });
export const CompanyPayload = z.object({ company_id: z.string().uuid() });
