import { describe, expect, it } from "vitest";
import { qualify } from "../../shared/pipeline/qualify.ts";
import type { CompanyResearch } from "../../shared/domain/schemas.ts";

const research = (overrides: Partial<CompanyResearch> = {}): CompanyResearch => ({
  pms: "Buildium", pms_confidence: "high", pms_evidence_urls: [], units: 500, units_estimated: true, units_quote: null,
  units_source_url: null, single_family_focus: null, property_mix: null, employees: null, icp_fit: null, icp_score: null,
  icp_tier: null, disqualifiers: [], agent_summary: null, source_urls: [], ...overrides,
});
const criteria = { pms: "buildium", state: "TX", units_min: 100, units_max: 2000 };

describe("qualification is decided in code", () => {
  it.each([
    [research(), "accepted", null, null],
    [research({ pms: "AppFolio" }), "rejected", "other_pms", /uses AppFolio, not buildium/],
    [research({ pms_confidence: "medium" }), "review", "weak_pms_evidence", /only medium evidence/],
    [research({ pms: "AppFolio", pms_confidence: "low" }), "review", "weak_pms_evidence", /low evidence of AppFolio/],
    [research({ pms: null, pms_confidence: "none" }), "rejected", "no_pms_evidence", /no PMS evidence/],
    [research({ pms: null, pms_confidence: "unknown" }), "review", "pms_not_checked", /could not be checked/],
    [research({ units: 60 }), "rejected", "units_out_of_range", /about 60 units, outside 100-2000/],
    [research({ units: null }), "review", "units_unknown", /units unknown/],
    [research({ disqualifiers: ["HOA-only management"] }), "rejected", "disqualified", /disqualified: HOA-only/],
  ])("%#: %s", (input, status, code, reason) => {
    const decision = qualify(criteria, input);
    expect(decision.status).toBe(status);
    expect(decision.code).toBe(code); // the code is what the database keys on, the reason what people read
    if (reason) expect(decision.reason).toMatch(reason);
    else expect(decision.reason).toBeNull();
  });

  it("accepts any PMS when the criteria name none, and any of several", () => {
    expect(qualify({ state: "TX" }, research({ pms: "Yardi" })).status).toBe("accepted");
    expect(qualify({ pms: ["AppFolio", "Buildium"] }, research()).status).toBe("accepted");
  });
});
