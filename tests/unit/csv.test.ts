import { describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import fc from "fast-check";
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
    ["+1 555", "\"'+1 555\""],
    ["-2+3", "\"'-2+3\""],
    ["@SUM(A1)", "\"'@SUM(A1)\""],
    ["  =1+2", "\"'  =1+2\""],
    ["\tcmd", "\"'\tcmd\""],
    ["\r=1", "\"'\r'=1\""],
    // after a separator: a spreadsheet that splits at ; (or , tab, a line break) would see a new cell there
    ["x;@SUM(1)", "\"x;'@SUM(1)\""],
    ["a, =1+2", "\"a, '=1+2\""],
    ["a\t+cmd|' /C calc'!A0", "\"a\t'+cmd|' /C calc'!A0\""],
    ["first line\n-2+3", "\"first line\n'-2+3\""],
    ["a;b,=c;;@d", "\"a;b,'=c;;'@d\""],
    // a formula character inside a part is no formula
    ["Smith - CEO", "\"Smith - CEO\""],
    ["jo@acme.example", "\"jo@acme.example\""],
    ["a, b", "\"a, b\""],
    ["say \"hi\"", "\"say \"\"hi\"\"\""],
    ["plain", "\"plain\""],
  ])("neutralises and quotes %j", (value, expected) => {
    expect(toCsv(["x"], [{ x: value }])).toBe(`"x"\r\n${expected}\r\n`);
  });

  it("leaves no part of any cell that starts a formula, split at any separator (property)", () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom("=", "+", "-", "@", ",", ";", "\t", "\r", "\n", " ", "a", "1", "\"", "'") }), (text) => {
      const [, row] = parse(toCsv(["x"], [{ x: text }]), { relax_quotes: false }) as string[][];
      const exported = row[0];
      expect(exported.replace(/'/g, "")).toBe(text.replace(/'/g, "")); // only quotes added
      for (const part of exported.split(/[,;\t\r\n]/)) expect(part).not.toMatch(/^ *[=+\-@]/);
      expect(exported).not.toMatch(/^[\t\r]/);
    }));
  });

  it("quotes every cell, the header too; writes empty cells for null and ISO dates", () => {
    expect(toCsv(["a", "b"], [{ a: null, b: new Date("2026-01-02T03:04:05Z") }])).toBe('"a","b"\r\n"","2026-01-02T03:04:05.000Z"\r\n');
  });

  it("starts with a UTF-8 byte order mark for Excel only when asked", () => {
    expect(toCsv(["a"], [{ a: "é" }], { excel: true })).toBe('\uFEFF"a"\r\n"é"\r\n');
    expect(toCsv(["a"], [{ a: "é" }]).startsWith('"a"')).toBe(true);
  });

  it("names files as the old system did", () => {
    expect(exportFileName("companies", "1234abcd-0000-0000-0000-000000000000", new Date("2026-11-28T09:08:07Z")))
      .toBe("companies_1234abcd_20261128_090807.csv");
  });

  it.each([
    ["published", "jo@acme.example"], ["generic_role", "jo@acme.example"],
    ["pattern_inferred", null], ["personal", null], ["unknown", null],
  ])("exports a %s e-mail on a deliverable domain as %s by default, and every one when asked", (email_class, exported) => {
    const contact = { full_name: "Jo", email: "jo@acme.example", email_class, email_domain_check: "deliverable" };
    expect(exportableContact(contact, false).email).toBe(exported);
    expect(exportableContact(contact, true).email).toBe("jo@acme.example");
  });

  it.each([
    // the domain check, disposable, by default, with unverified e-mails included
    ["deliverable", false, "jo@acme.example", "jo@acme.example"],
    ["unknown", false, null, "jo@acme.example"],
    [null, false, null, "jo@acme.example"], // never checked: as unknown
    ["undeliverable", false, null, null],
    ["deliverable", true, null, null],
  ])("a published e-mail whose domain check is %s (disposable: %s) is exported as %s, and as %s with unverified ones", (check, disposable, byDefault, included) => {
    const contact = { full_name: "Jo", email: "jo@acme.example", email_class: "published", email_domain_check: check, email_disposable: disposable };
    expect(exportableContact(contact, false).email).toBe(byDefault);
    expect(exportableContact(contact, true).email).toBe(included);
  });

  it("puts the e-mail check, then the evidence, after the columns it had", () => {
    expect(CONTACT_COLUMNS.slice(19)).toEqual(["email_class", "title_tier", "email_domain_check", "email_checked_at", "email_free_mail", "email_disposable",
      "title_evidence_url", "title_read_at", "title_evidence", "email_evidence_url", "email_read_at", "email_evidence"]);
  });
});
