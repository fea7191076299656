// HubSpot: one file that imports companies and contacts and associates them. HubSpot's import of
// several objects from one file associates the records on the same row; it dedupes companies by
// Company Domain Name and contacts by Email, and both by a custom property that requires unique
// values (docs/exports.md has the vendor's pages). So each row is one contact with its company,
// and carries the two external ids as such properties: a contact without an e-mail is still found
// again. A company without an exported contact gets a row of its own with the company columns only.
import { companyExternalId, contactExternalId, onePerPerson, splitName } from "./identity.ts";
import type { CompanyExportRow, ContactExportRow, ExportData, ExportRow } from "./rows.ts";

/** Headers as HubSpot's default property labels (its import maps them by name); the PM Leads ones are custom properties. */
export const HUBSPOT_CONTACT_COLUMNS = [
  "PM Leads Contact ID", "First Name", "Last Name", "Email", "Job Title", "LinkedIn URL", "Email Class",
  // the e-mail's domain check and the pages behind the claims (docs/usage.md: the CSVs' columns of the same names)
  "Email Domain Check", "Email Checked At", "Email Evidence URL", "Title Evidence URL",
] as const;
export const HUBSPOT_COMPANY_COLUMNS = [
  "PM Leads Company ID", "Company name", "Company Domain Name", "Website URL", "City", "State/Region", "Number of Employees",
  "PMS", "PMS Confidence", "Units Managed", "ICP Score", "PMS Evidence URL", "Units Evidence URL",
] as const;
export const HUBSPOT_COLUMNS = [...HUBSPOT_CONTACT_COLUMNS, ...HUBSPOT_COMPANY_COLUMNS] as const;

function companyColumns(company: CompanyExportRow): ExportRow {
  return {
    "PM Leads Company ID": companyExternalId(company.domain),
    "Company name": company.company_name,
    "Company Domain Name": company.domain,
    "Website URL": company.website,
    City: company.company_city,
    "State/Region": company.company_state,
    "Number of Employees": company.employees,
    PMS: company.pms,
    "PMS Confidence": company.pms_confidence,
    "Units Managed": company.units,
    "ICP Score": company.icp_score,
    "PMS Evidence URL": company.pms_evidence_url,
    "Units Evidence URL": company.units_evidence_url,
  };
}

function contactColumns(contact: ContactExportRow): ExportRow {
  const { first, last } = splitName(contact.full_name);
  return {
    "PM Leads Contact ID": contactExternalId(contact.company_domain, contact.full_name),
    "First Name": first,
    "Last Name": last,
    Email: contact.email,
    "Job Title": contact.title,
    "LinkedIn URL": contact.linkedin_url,
    "Email Class": contact.email_class,
    "Email Domain Check": contact.email_domain_check,
    "Email Checked At": contact.email_checked_at,
    "Email Evidence URL": contact.email_evidence_url,
    "Title Evidence URL": contact.title_evidence_url,
  };
}

/** The rows of the one HubSpot file, contacts grouped under their company (in the companies' order). */
export function hubspotRows({ companies, contacts }: ExportData): ExportRow[] {
  const people = onePerPerson(contacts);
  return companies.flatMap((company) => {
    const own = people.filter((c) => c.company_domain === company.domain);
    const columns = companyColumns(company);
    return own.length === 0 ? [columns] : own.map((contact) => ({ ...contactColumns(contact), ...columns }));
  });
}
