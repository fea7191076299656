// Does a researched company qualify for the run? Decided in code from verified evidence: a domain
// whose homepage carries the company's name, the PMS only with high-confidence portal evidence,
// units only inside the range, no disqualifiers.
import { vendorByName } from "../domain/pms-vendors.ts";
import type { CompanyResearch, Criteria, DomainEvidence } from "../domain/schemas.ts";
import type { CompanyReason, CompanyStatus } from "../domain/states.ts";

/** Why research holds a company back: the code the database keys on (companies.status_reason). */
export type DecisionCode = Exclude<CompanyReason, "too_few_contacts" | "task_failed">;

/** What a decision makes of a candidate: accepted, or held back with a reason in words and as a code. */
export type Decision =
  | { status: Extract<CompanyStatus, "accepted">; reason: null; code: null }
  | { status: Extract<CompanyStatus, "rejected" | "review">; reason: string; code: DecisionCode };

const canonical = (name: string) => vendorByName(name)?.name.toLowerCase() ?? name.trim().toLowerCase();

/** Whose site the company's domain is (the PMS check's reading of its homepage, site-owner.ts). */
export interface DomainOwner {
  domain_evidence: DomainEvidence;
  /** what the homepage calls itself */
  site_name: string | null;
}

const NOT_READ: DomainOwner = { domain_evidence: "unknown", site_name: null };

export function qualify(criteria: Criteria, research: CompanyResearch, owner: DomainOwner = NOT_READ): Decision {
  // a look-alike or unrelated domain: whatever was found there is another company's
  if (owner.domain_evidence === "mismatch") {
    return { status: "review", code: "domain_mismatch",
      reason: `the domain's homepage does not carry the company's name${owner.site_name ? ` (it calls itself "${owner.site_name}")` : ""}: a look-alike or unrelated domain` };
  }
  if (research.disqualifiers.length > 0) {
    return { status: "rejected", code: "disqualified", reason: `disqualified: ${research.disqualifiers.join("; ")}` };
  }

  const wanted = criteria.pms == null ? null : (Array.isArray(criteria.pms) ? criteria.pms : [criteria.pms]);
  if (wanted) {
    const found = research.pms ? canonical(research.pms) : null;
    const matches = found !== null && wanted.some((w) => canonical(w) === found);
    const asked = wanted.join(" or ");
    if (research.pms_confidence === "unknown") {
      return { status: "review", code: "pms_not_checked", reason: `PMS unknown: the site could not be checked (wanted ${asked})` };
    }
    if (!found || research.pms_confidence === "none") {
      return { status: "rejected", code: "no_pms_evidence", reason: `no PMS evidence on the site (wanted ${asked})` };
    }
    if (!matches) {
      return research.pms_confidence === "high"
        ? { status: "rejected", code: "other_pms", reason: `uses ${research.pms}, not ${asked}` }
        : { status: "review", code: "weak_pms_evidence", reason: `${research.pms_confidence} evidence of ${research.pms}, wanted ${asked}` };
    }
    if (research.pms_confidence !== "high") {
      return { status: "review", code: "weak_pms_evidence", reason: `only ${research.pms_confidence} evidence of ${research.pms}` };
    }
  }

  const { units_min: min, units_max: max } = criteria;
  if (min !== undefined || max !== undefined) {
    const range = `${min ?? 0}-${max ?? "any"}`;
    if (research.units === null) return { status: "review", code: "units_unknown", reason: `units unknown (wanted ${range})` };
    if ((min !== undefined && research.units < min) || (max !== undefined && research.units > max)) {
      return { status: "rejected", code: "units_out_of_range", reason: `about ${research.units} units, outside ${range}` };
    }
  }
  return { status: "accepted", reason: null, code: null };
}
