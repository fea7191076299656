// Does a researched company qualify for the run? Decided in code from verified evidence: the PMS
// only with high-confidence portal evidence, units only inside the range, no disqualifiers.
import { vendorByName } from "../domain/pms-vendors.ts";
import type { CompanyResearch, Criteria } from "../domain/schemas.ts";
import type { CompanyStatus } from "../domain/states.ts";

export interface Decision {
  /** what a decision makes of a candidate */
  status: Exclude<CompanyStatus, "candidate">;
  reason: string | null;
}

const canonical = (name: string) => vendorByName(name)?.name.toLowerCase() ?? name.trim().toLowerCase();

export function qualify(criteria: Criteria, research: CompanyResearch): Decision {
  if (research.disqualifiers.length > 0) {
    return { status: "rejected", reason: `disqualified: ${research.disqualifiers.join("; ")}` };
  }

  const wanted = criteria.pms == null ? null : (Array.isArray(criteria.pms) ? criteria.pms : [criteria.pms]);
  if (wanted) {
    const found = research.pms ? canonical(research.pms) : null;
    const matches = found !== null && wanted.some((w) => canonical(w) === found);
    const asked = wanted.join(" or ");
    if (research.pms_confidence === "unknown") {
      return { status: "review", reason: `PMS unknown: the site could not be checked (wanted ${asked})` };
    }
    if (!found || research.pms_confidence === "none") {
      return { status: "rejected", reason: `no PMS evidence on the site (wanted ${asked})` };
    }
    if (!matches) {
      return research.pms_confidence === "high"
        ? { status: "rejected", reason: `uses ${research.pms}, not ${asked}` }
        : { status: "review", reason: `${research.pms_confidence} evidence of ${research.pms}, wanted ${asked}` };
    }
    if (research.pms_confidence !== "high") {
      return { status: "review", reason: `only ${research.pms_confidence} evidence of ${research.pms}` };
    }
  }

  const { units_min: min, units_max: max } = criteria;
  if (min !== undefined || max !== undefined) {
    const range = `${min ?? 0}-${max ?? "any"}`;
    if (research.units === null) return { status: "review", reason: `units unknown (wanted ${range})` };
    if ((min !== undefined && research.units < min) || (max !== undefined && research.units > max)) {
      return { status: "rejected", reason: `about ${research.units} units, outside ${range}` };
    }
  }
  return { status: "accepted", reason: null };
}
