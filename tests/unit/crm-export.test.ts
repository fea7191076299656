// The CRM formats: their columns, the external ids, and what a CRM holds after importing our files
// twice and from two overlapping runs (tests/helpers/crm-models.ts models each vendor's dedupe).
import { describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { exportCsv } from "../../shared/export/formats.ts";
import { EXPORT_FORMATS } from "../../shared/domain/export-formats.ts";
import { HUBSPOT_COLUMNS, HUBSPOT_COMPANY_COLUMNS, HUBSPOT_CONTACT_COLUMNS } from "../../shared/export/hubspot.ts";
import { companyExternalId, contactExternalId, normaliseName, splitName } from "../../shared/export/identity.ts";
import type { CompanyExportRow, ContactExportRow, ExportData } from "../../shared/export/rows.ts";
import { SALESFORCE_LEAD_COLUMNS } from "../../shared/export/salesforce.ts";
import { HubSpotModel, SalesforceModel } from "../helpers/crm-models.ts";

const company = (domain: string, runId: string, extra: Partial<CompanyExportRow> = {}): CompanyExportRow => ({
  run_id: runId, company_name: `${domain.split(".")[0]} Property Management`, company_city: "Austin", company_state: "TX", domain,
  website: `https://www.${domain}/`, pms: "Buildium", pms_confidence: "high", units: 400, employees: 12, icp_score: 80,
  discovered_at: new Date(), ...extra,
});
const contact = (domain: string, runId: string, fullName: string, email: string | null, emailClass: string, extra: Partial<ContactExportRow> = {}): ContactExportRow => ({
  run_id: runId, full_name: fullName, title: "Owner", email, email_class: emailClass, linkedin_url: null, company_domain: domain,
  // the domain takes mail (DNS said so): the export's e-mail rule is csv.test.ts's
  email_domain_check: email ? "deliverable" : null, company_name: domain, created_at: new Date(), ...extra,
});

// two runs that overlap: beta.example is found by both; Ann Lee at acme has only a guessed address
// in the first (left out of the export) and a published one in the second
const RUN_A = "11111111-1111-4111-8111-111111111111";
const RUN_B = "22222222-2222-4222-8222-222222222222";
const runA: ExportData = {
  companies: [company("acme.example", RUN_A), company("beta.example", RUN_A)],
  contacts: [
    contact("acme.example", RUN_A, "Jo Smith", "jo@acme.example", "published"),
    contact("acme.example", RUN_A, "Ann Lee", "ann.lee@acme.example", "pattern_inferred"),
    contact("beta.example", RUN_A, "Raúl Ortiz", "raul@beta.example", "published"),
  ],
};
const runB: ExportData = {
  companies: [company("beta.example", RUN_B, { units: 450 }), company("gamma.example", RUN_B), company("acme.example", RUN_B)],
  contacts: [
    contact("beta.example", RUN_B, "Raul Ortiz", "raul@beta.example", "published", { title: "President" }),
    contact("beta.example", RUN_B, "Kim Park", null, "unknown"),
    contact("acme.example", RUN_B, "Ann Lee", "ann@acme.example", "published"),
  ],
};
const exported = (file: "hubspot" | "salesforce_leads", data: ExportData) => exportCsv(file, data, { includeUnverifiedEmails: false });
const rowsOf = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];

describe("external ids", () => {
  it("come from the normalised domain and name, never from the run", () => {
    expect(companyExternalId("https://WWW.Acme.example/about")).toBe(companyExternalId("acme.example"));
    expect(companyExternalId("acme.example")).toMatch(/^pmc_[0-9a-f]{24}$/);
    expect(companyExternalId("acme.example")).not.toBe(companyExternalId("acme2.example"));
    expect(contactExternalId("acme.example", "Dr. José  O'Neil")).toBe(contactExternalId("www.acme.example", "dr jose oneil"));
    expect(contactExternalId("acme.example", "Jo Smith")).toMatch(/^pmp_[0-9a-f]{24}$/);
    expect(contactExternalId("acme.example", "Jo Smith")).not.toBe(contactExternalId("beta.example", "Jo Smith"));
    expect(normaliseName("  Raúl   ORTIZ-Díaz ")).toBe("raul ortiz diaz");
  });

  it("are the same in every run's files for the same company and person", () => {
    const idsA = rowsOf(exported("hubspot", runA));
    const idsB = rowsOf(exported("hubspot", runB));
    const raulA = idsA.find((r) => r["Last Name"] === "Ortiz")!;
    const raulB = idsB.find((r) => r["Last Name"] === "Ortiz")!;
    expect(raulB["PM Leads Contact ID"]).toBe(raulA["PM Leads Contact ID"]);
    expect(raulB["PM Leads Company ID"]).toBe(raulA["PM Leads Company ID"]);
  });

  it("split names as CRMs want them", () => {
    expect(splitName("Jo Smith")).toEqual({ first: "Jo", last: "Smith" });
    expect(splitName("Mary Ann Smith")).toEqual({ first: "Mary Ann", last: "Smith" });
    expect(splitName("Robert Jones Jr.")).toEqual({ first: "Robert", last: "Jones Jr." });
    expect(splitName("Madonna")).toEqual({ first: "", last: "Madonna" });
  });
});

describe("HubSpot file", () => {
  it("has the contact columns, then the company's, with HubSpot's property labels", () => {
    expect(HUBSPOT_COLUMNS).toEqual([...HUBSPOT_CONTACT_COLUMNS, ...HUBSPOT_COMPANY_COLUMNS]);
    expect(HUBSPOT_COLUMNS.slice(0, 7)).toEqual(["PM Leads Contact ID", "First Name", "Last Name", "Email", "Job Title", "LinkedIn URL", "Email Class"]);
    expect(exported("hubspot", runA).split("\r\n")[0]).toBe(HUBSPOT_COLUMNS.map((c) => `"${c}"`).join(","));
  });

  it("puts each contact on its company's row; a company without contacts gets a row of its own", () => {
    const rows = rowsOf(exported("hubspot", runB));
    expect(rows.map((r) => [r["Company Domain Name"], r["Last Name"]])).toEqual([
      ["beta.example", "Ortiz"], ["beta.example", "Park"], ["gamma.example", ""], ["acme.example", "Lee"],
    ]);
    expect(rows[0]).toMatchObject({ "First Name": "Raul", Email: "raul@beta.example", "Job Title": "President", "Company name": "beta Property Management",
      "Website URL": "https://www.beta.example/", "State/Region": "TX", PMS: "Buildium", "Units Managed": "450" });
    expect(rows[2]["PM Leads Contact ID"]).toBe("");
  });

  it("carries each e-mail's class and domain check, and the pages behind the claims, in both files", () => {
    const checkedAt = "2026-12-01T10:00:00.000Z";
    const data: ExportData = {
      companies: [company("delta.example", RUN_A, { pms_evidence_url: "https://delta.example/residents" })],
      contacts: [
        contact("delta.example", RUN_A, "Dee Ross", "dee@delta.example", "published",
          { email_checked_at: checkedAt, email_evidence_url: "https://delta.example/team" }),
        // a domain that cannot receive mail: the check is there, the address is not
        contact("delta.example", RUN_A, "Bo Chan", "bo@delta.example", "published", { email_domain_check: "undeliverable", email_checked_at: checkedAt }),
      ],
    };
    const hubspot = rowsOf(exported("hubspot", data));
    expect(hubspot.map((r) => [r["Last Name"], r.Email, r["Email Class"], r["Email Domain Check"], r["Email Checked At"]])).toEqual([
      ["Ross", "dee@delta.example", "published", "deliverable", checkedAt], ["Chan", "", "published", "undeliverable", checkedAt]]);
    expect(hubspot[0]).toMatchObject({ "Email Evidence URL": "https://delta.example/team", "PMS Evidence URL": "https://delta.example/residents" });
    const salesforce = rowsOf(exported("salesforce_leads", data));
    expect(salesforce.map((r) => [r.LastName, r.Email, r.PM_Leads_Email_Class__c, r.PM_Leads_Email_Domain_Check__c, r.PM_Leads_Email_Checked_At__c])).toEqual([
      ["Ross", "dee@delta.example", "published", "deliverable", checkedAt], ["Chan", "", "published", "undeliverable", checkedAt]]);
    expect(salesforce[0]).toMatchObject({ PM_Leads_Email_Evidence_URL__c: "https://delta.example/team", PM_Leads_PMS_Evidence_URL__c: "https://delta.example/residents" });
  });

  it("leaves out the e-mails exportableContact leaves out (and includes them when asked)", () => {
    const ann = (csv: string) => rowsOf(csv).find((r) => r["Last Name"] === "Lee")!;
    expect(ann(exported("hubspot", runA)).Email).toBe("");
    expect(ann(exportCsv("hubspot", runA, { includeUnverifiedEmails: true })).Email).toBe("ann.lee@acme.example");
    expect(rowsOf(exported("salesforce_leads", runA)).find((r) => r.LastName === "Lee")!.Email).toBe("");
  });

  it("quotes and neutralises cells through toCsv", () => {
    const hostile = { companies: [company("evil.example", RUN_A, { company_name: "=HYPERLINK(\"x\")" })], contacts: [] };
    expect(exported("hubspot", hostile)).toContain(`"'=HYPERLINK(""x"")"`);
    expect(exportCsv("hubspot", hostile, { includeUnverifiedEmails: false, excel: true }).startsWith("\uFEFF")).toBe(true);
  });

  const model = () => {
    const crm = new HubSpotModel();
    return { crm, load: (data: ExportData) => crm.import(exported("hubspot", data), HUBSPOT_CONTACT_COLUMNS, HUBSPOT_COMPANY_COLUMNS) };
  };

  it("imported twice into HubSpot's dedupe, holds each company and contact once", () => {
    const { crm, load } = model();
    load(runA);
    const first = { companies: crm.companies.length, contacts: crm.contacts.length, associations: crm.associations.size };
    expect(first).toEqual({ companies: 2, contacts: 3, associations: 3 });
    load(runA);
    expect({ companies: crm.companies.length, contacts: crm.contacts.length, associations: crm.associations.size }).toEqual(first);
    expect(crm.errors).toEqual([]);
  });

  it("imported from two overlapping runs, holds each once, associated with its own company, with the newer facts", () => {
    const { crm, load } = model();
    load(runA);
    load(runB);
    load(runA);
    expect(crm.errors).toEqual([]);
    expect(crm.companies.map((c) => c.props["Company Domain Name"]).sort()).toEqual(["acme.example", "beta.example", "gamma.example"]);
    expect(crm.contacts.map((c) => c.props["Last Name"]).sort()).toEqual(["Lee", "Ortiz", "Park", "Smith"]);
    for (const person of crm.contacts) {
      const key = person.props["PM Leads Contact ID"];
      expect(crm.companiesOf(key)).toEqual([[...runA.contacts, ...runB.contacts].find((c) => contactExternalId(c.company_domain, c.full_name) === key)!.company_domain]);
    }
    // the contact first imported without an e-mail is the same record once it has one
    expect(crm.contacts.find((c) => c.props["Last Name"] === "Lee")!.props.Email).toBe("ann@acme.example");
  });

  it("the model does count duplicates: ids that changed with the run would make them", () => {
    const { crm, load } = model();
    load(runA);
    const renamed = exported("hubspot", runB).replaceAll("pmp_", "run2_");
    crm.import(renamed, HUBSPOT_CONTACT_COLUMNS, HUBSPOT_COMPANY_COLUMNS);
    expect(crm.errors).toEqual([]);
    // Ortiz is matched by his e-mail; Ann Lee, imported first without one, becomes a second record
    expect(crm.contacts.filter((c) => c.props["Last Name"] === "Ortiz")).toHaveLength(1);
    expect(crm.contacts.filter((c) => c.props["Last Name"] === "Lee")).toHaveLength(2);
  });
});

describe("Salesforce lead file", () => {
  it("has the Lead fields' API names and the External ID field first", () => {
    expect(SALESFORCE_LEAD_COLUMNS).toEqual(["PM_Leads_Id__c", "FirstName", "LastName", "Title", "Email", "Company", "Website", "City", "State",
      "NumberOfEmployees", "LeadSource", "PM_Leads_Company_Id__c", "PM_Leads_PMS__c", "PM_Leads_Units__c", "PM_Leads_Email_Class__c", "PM_Leads_LinkedIn_URL__c",
      "PM_Leads_Email_Domain_Check__c", "PM_Leads_Email_Checked_At__c", "PM_Leads_PMS_Evidence_URL__c", "PM_Leads_Email_Evidence_URL__c"]);
    expect(exported("salesforce_leads", runA).split("\r\n")[0]).toBe(SALESFORCE_LEAD_COLUMNS.map((c) => `"${c}"`).join(","));
  });

  it("one lead per contact with its company's fields; a company without contacts has none; long values cut to the field's length", () => {
    const rows = rowsOf(exported("salesforce_leads", runB));
    expect(rows.map((r) => r.LastName)).toEqual(["Ortiz", "Park", "Lee"]);
    expect(rows[0]).toMatchObject({ FirstName: "Raul", Company: "beta Property Management", Website: "https://www.beta.example/", State: "TX",
      LeadSource: "Other", PM_Leads_Company_Id__c: companyExternalId("beta.example"), PM_Leads_Units__c: "450" });
    const long = rowsOf(exported("salesforce_leads", { companies: [company("long.example", RUN_A)], contacts: [contact("long.example", RUN_A, `A ${"b".repeat(100)}`, null, "unknown", { title: "t".repeat(200) })] }));
    expect(long[0].LastName).toHaveLength(80);
    expect(long[0].Title).toHaveLength(128);
  });

  it("upserted twice and from two overlapping runs on the External ID, holds each person once", () => {
    const crm = new SalesforceModel();
    crm.upsert(exported("salesforce_leads", runA));
    crm.upsert(exported("salesforce_leads", runA));
    expect(crm.leads).toHaveLength(3);
    crm.upsert(exported("salesforce_leads", runB));
    crm.upsert(exported("salesforce_leads", runA));
    expect(crm.errors).toEqual([]);
    expect(crm.leads.map((l) => `${l.LastName}@${l.Company}`).sort()).toEqual([
      "Lee@acme Property Management", "Ortiz@beta Property Management", "Park@beta Property Management", "Smith@acme Property Management"]);
    expect(crm.leads.find((l) => l.LastName === "Ortiz")!.Title).toBe("Owner"); // the last import's value
    expect(crm.leads.find((l) => l.LastName === "Lee")!.Email).toBe("ann@acme.example"); // a blank cell keeps the known value
  });

  it("a person found twice in one run is one lead (a duplicate key would fail the whole row)", () => {
    const twice = { companies: [company("acme.example", RUN_A)], contacts: [contact("acme.example", RUN_A, "Jo Smith", null, "unknown"), contact("acme.example", RUN_A, "jo smith", "jo@acme.example", "published")] };
    const crm = new SalesforceModel();
    crm.upsert(exported("salesforce_leads", twice));
    expect(crm.errors).toEqual([]);
    expect(crm.leads).toHaveLength(1);
    expect(crm.leads[0].Email).toBe("jo@acme.example");
  });
});

it("every format names its files", () => {
  expect(EXPORT_FORMATS).toEqual({ csv: ["companies", "contacts"], hubspot: ["hubspot"], salesforce: ["salesforce_leads"] });
});
