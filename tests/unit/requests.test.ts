// The run API's request schemas: what they normalise and what they refuse, without a server.
import { describe, expect, it } from "vitest";
import { criteriaWarnings, CriteriaInput, Decision, RunRequest } from "../../shared/api/requests.ts";
import { vendorByName, vendorMisspelled } from "../../shared/domain/pms-vendors.ts";
import { usStateCode } from "../../shared/domain/us-states.ts";

describe("PMS names", () => {
  it.each([["buildium", "Buildium"], ["App-Folio", "AppFolio"], ["RENT MANAGER", "Rent Manager"], ["rentmanager", "Rent Manager"], ["Yardi Breeze", "Yardi"], [" doorloop ", "DoorLoop"]])(
    "%s is %s", (typed, vendor) => expect(vendorByName(typed)?.name).toBe(vendor));

  it("suggests the vendor for a near miss, and nothing for other text", () => {
    expect(vendorMisspelled("Buildum")?.name).toBe("Buildium");
    expect(vendorMisspelled("Appfollio")?.name).toBe("AppFolio");
    expect(vendorMisspelled("Rent Manger")?.name).toBe("Rent Manager");
    expect(vendorMisspelled("Acme Property Suite")).toBeNull();
    expect(vendorMisspelled("Buildium")).toBeNull(); // known, not a misspelling
    expect(vendorMisspelled("abc")).toBeNull(); // too short to guess from
  });
});

describe("US states", () => {
  it.each([["tx", "TX"], ["Texas", "TX"], [" new  york ", "NY"], ["DISTRICT OF COLUMBIA", "DC"], ["Texass", null], ["T", null], ["", null]])(
    "%s -> %s", (typed, code) => expect(usStateCode(typed)).toBe(code));
});

describe("criteria", () => {
  it("normalises states and PMS names and drops duplicate states", () => {
    expect(CriteriaInput.parse({ pms: ["app folio", "Buildium"], states: ["texas", "TX", "ok"], city: " Austin " }))
      .toEqual({ pms: ["AppFolio", "Buildium"], states: ["TX", "OK"], city: "Austin" });
    expect(CriteriaInput.parse({ pms: null, state: "co" })).toEqual({ pms: null, state: "CO" });
  });

  it("warns about a PMS the site check does not know, not about known ones", () => {
    expect(criteriaWarnings({ pms: ["Buildium", "Acme PMS"] })).toEqual([expect.stringMatching(/^PMS "Acme PMS" is not one/)]);
    expect(criteriaWarnings({ pms: null })).toEqual([]);
  });

  it("defaults contacts to 1-3 and keeps the budget optional", () => {
    expect(RunRequest.parse({ criteria: { state: "TX" }, quantity: 5 })).toEqual({ criteria: { state: "TX" }, quantity: 5, contacts_min: 1, contacts_max: 3 });
  });
});

describe("decisions", () => {
  it("parses each decision and refuses an unknown one by name", () => {
    expect(Decision.parse({ decision: "expand_location", city: null, states: ["Oklahoma"] })).toEqual({ decision: "expand_location", city: null, states: ["OK"] });
    expect(Decision.parse({ decision: "loosen_pms", pms: "rent manager" })).toEqual({ decision: "loosen_pms", pms: "Rent Manager" });
    const unknown = Decision.safeParse({ decision: "wait" });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues[0].message).toMatch(/one of accept_partial, expand_location, loosen_pms, set_budget/);
    expect(Decision.safeParse({ decision: "accept_partial", extra: 1 }).success).toBe(false);
  });
});
