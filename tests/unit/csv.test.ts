import { describe, expect, it } from "vitest";
import { COMPANY_COLUMNS, CONTACT_COLUMNS, exportableContact, exportFileName, toCsv } from "../../shared/export/csv.ts";

describe("CSV export", () => {
  it("keeps the old system's column names first, in its order", () => {
    expect(COMPANY_COLUMNS.slice(0, 12)).toEqual(["company_name", "company_city", "company_state", "pms", "units", "employees",
      "domain", "single_family_focus", "property_mix", "icp_fit", "icp_score", "agent_summary"]);
    expect(CONTACT_COLUMNS.slice(0, 19)).toEqual(["full_name", "title", "email", "linkedin_url", "department", "seniority",
      "quality_score", "icp_score", "company_name", "company_domain", "company_website", "company_state", "personalization_notes",
      "personal_anecdotes", "professional_anecdotes", "data_sources", "additional_research_notes", "agent_summary", "created_at"]);
  });

  it.each([
    ["=HYPERLINK(\"http://evil\")", "\"'=HYPERLINK(\"\"http://evil\"\")\""],
    ["+1 555", "'+1 555"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tcmd", "'\tcmd"],
    ["a, b", "\"a, b\""],
    ["line\nbreak", "\"line\nbreak\""],
    ["plain", "plain"],
  ])("neutralises and quotes %j", (value, expected) => {
    expect(toCsv(["x"], [{ x: value }])).toBe(`x\r\n${expected}\r\n`);
  });

  it("writes empty cells for null and ISO dates", () => {
    expect(toCsv(["a", "b"], [{ a: null, b: new Date("2026-01-02T03:04:05Z") }])).toBe("a,b\r\n,2026-01-02T03:04:05.000Z\r\n");
  });

  it("names files as the old system did", () => {
    expect(exportFileName("companies", "1234abcd-0000-0000-0000-000000000000", new Date("2026-11-28T09:08:07Z")))
      .toBe("companies_1234abcd_20261128_090807.csv");
  });

  it.each([
    ["published", "jo@acme.example"], ["generic_role", "jo@acme.example"],
    ["pattern_inferred", null], ["personal", null], ["unknown", null],
  ])("exports a %s e-mail as %s by default, and every one when asked", (email_class, exported) => {
    const contact = { full_name: "Jo", email: "jo@acme.example", email_class };
    expect(exportableContact(contact, false).email).toBe(exported);
    expect(exportableContact(contact, true).email).toBe("jo@acme.example");
  });
});
