// Salesforce: the lead import (Data Loader's upsert, or the Data Import Wizard matching leads by
// External ID). A lead is a person at a company, so each row is one contact with its company's
// fields; a company without an exported contact has no lead (LastName is required). Headers are
// the Lead object's API field names, which Data Loader maps by name; PM_Leads_Id__c is the
// External ID field to upsert on (docs/exports.md: the vendor's pages, the fields to create).
import { companyExternalId, contactExternalId, onePerPerson, splitName } from "./identity.ts";
import type { ExportData, ExportRow } from "./rows.ts";

export const SALESFORCE_LEAD_COLUMNS = [
  "PM_Leads_Id__c", "FirstName", "LastName", "Title", "Email", "Company", "Website", "City", "State", "NumberOfEmployees",
  "LeadSource", "PM_Leads_Company_Id__c", "PM_Leads_PMS__c", "PM_Leads_Units__c", "PM_Leads_Email_Class__c", "PM_Leads_LinkedIn_URL__c",
  "PM_Leads_Email_Domain_Check__c", "PM_Leads_Email_Checked_At__c", "PM_Leads_PMS_Evidence_URL__c", "PM_Leads_Email_Evidence_URL__c",
] as const;

/** The Lead fields' lengths (Salesforce refuses a longer value since API 15.0, so a long one is cut here instead). */
const LENGTH: Partial<Record<(typeof SALESFORCE_LEAD_COLUMNS)[number], number>> = { FirstName: 40, LastName: 80, Title: 128, Company: 255, City: 40, State: 80 };

/** A default value of the standard Lead Source picklist. */
export const LEAD_SOURCE = "Other";

const cut = (value: unknown, length: number | undefined) =>
  typeof value === "string" && length !== undefined && value.length > length ? value.slice(0, length) : value;

export function salesforceLeadRows({ companies, contacts }: ExportData): ExportRow[] {
  const people = onePerPerson(contacts);
  return companies.flatMap((company) => people.filter((p) => p.company_domain === company.domain).map((person) => {
    const { first, last } = splitName(person.full_name);
    const row: ExportRow = {
      PM_Leads_Id__c: contactExternalId(person.company_domain, person.full_name),
      FirstName: first,
      LastName: last,
      Title: person.title,
      Email: person.email,
      Company: company.company_name,
      Website: company.website ?? `https://${company.domain}`,
      City: company.company_city,
      State: company.company_state,
      NumberOfEmployees: company.employees,
      LeadSource: LEAD_SOURCE,
      PM_Leads_Company_Id__c: companyExternalId(company.domain),
      PM_Leads_PMS__c: company.pms,
      PM_Leads_Units__c: company.units,
      PM_Leads_Email_Class__c: person.email_class,
      PM_Leads_LinkedIn_URL__c: person.linkedin_url,
      PM_Leads_Email_Domain_Check__c: person.email_domain_check,
      PM_Leads_Email_Checked_At__c: person.email_checked_at,
      PM_Leads_PMS_Evidence_URL__c: company.pms_evidence_url,
      PM_Leads_Email_Evidence_URL__c: person.email_evidence_url,
    };
    for (const [column, length] of Object.entries(LENGTH)) row[column] = cut(row[column], length);
    return row;
  }));
}
