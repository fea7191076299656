// Small models of how each CRM's import decides "update this record" or "create a new one", as the
// vendors document it (docs/exports.md has the pages). The CRM-export tests import our files into
// them, twice and from overlapping runs, and count what they hold. They model the dedupe rules only.
import { parse } from "csv-parse/sync";

const readCsv = (text: string) => parse(text.replace(/^\uFEFF/, ""), { columns: true }) as Record<string, string>[];

/**
 * HubSpot, a one-file import of contacts and companies: a company is matched by its unique-value
 * property when the file has it, else by Company Domain Name; a contact by Email, and by its
 * unique-value property (two different records matched is an error row); records on one row are
 * associated. Anything not matched is created.
 */
export class HubSpotModel {
  companies: { id: number; props: Record<string, string> }[] = [];
  contacts: { id: number; props: Record<string, string> }[] = [];
  associations = new Set<string>();
  errors: string[] = [];
  private nextId = 1;

  constructor(private readonly companyKey = "PM Leads Company ID", private readonly contactKey = "PM Leads Contact ID") {}

  import(csv: string, contactColumns: readonly string[], companyColumns: readonly string[]): void {
    for (const [n, row] of readCsv(csv).entries()) {
      const pick = (columns: readonly string[]) => Object.fromEntries(columns.filter((c) => row[c] !== undefined && row[c] !== "").map((c) => [c, row[c]]));
      const company = this.upsertCompany(pick(companyColumns));
      const contactProps = pick(contactColumns);
      if (Object.keys(contactProps).length === 0) continue;
      const contact = this.upsertContact(contactProps, n);
      if (contact && company) this.associations.add(`${contact.id}:${company.id}`);
    }
  }

  private upsertCompany(props: Record<string, string>) {
    if (Object.keys(props).length === 0) return null;
    const found = props[this.companyKey]
      ? this.companies.find((c) => c.props[this.companyKey] === props[this.companyKey])
      : this.companies.find((c) => c.props["Company Domain Name"] === props["Company Domain Name"]);
    if (found) return Object.assign(found.props, props), found;
    const created = { id: this.nextId++, props };
    this.companies.push(created);
    return created;
  }

  private upsertContact(props: Record<string, string>, n: number) {
    const email = props.Email?.toLowerCase();
    const byEmail = email ? this.contacts.find((c) => c.props.Email?.toLowerCase() === email) : undefined;
    const byKey = props[this.contactKey] ? this.contacts.find((c) => c.props[this.contactKey] === props[this.contactKey]) : undefined;
    if (byEmail && byKey && byEmail !== byKey) {
      this.errors.push(`row ${n + 1}: e-mail and ${this.contactKey} match two contacts`);
      return null;
    }
    const found = byEmail ?? byKey;
    if (found) return Object.assign(found.props, props), found;
    const created = { id: this.nextId++, props };
    this.contacts.push(created);
    return created;
  }

  /** The companies a contact is associated with, by the contact's key. */
  companiesOf(contactKeyValue: string): string[] {
    const contact = this.contacts.find((c) => c.props[this.contactKey] === contactKeyValue);
    if (!contact) return [];
    return this.companies.filter((c) => this.associations.has(`${contact.id}:${c.id}`)).map((c) => c.props["Company Domain Name"]);
  }
}

/**
 * Salesforce, an upsert of leads on an External ID field (Data Loader, or the Data Import Wizard
 * matching by External ID): matched once, the lead is updated; not matched, one is created; a key
 * that matches several records, or that appears twice in one file, is an error. The match is not
 * case-sensitive. LastName and Company are required.
 */
export class SalesforceModel {
  leads: Record<string, string>[] = [];
  errors: string[] = [];

  constructor(private readonly key = "PM_Leads_Id__c") {}

  upsert(csv: string): void {
    const rows = readCsv(csv);
    const keyOf = (row: Record<string, string>) => row[this.key]?.toLowerCase() ?? "";
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(keyOf(row), (counts.get(keyOf(row)) ?? 0) + 1);
    for (const [n, row] of rows.entries()) {
      if (!keyOf(row)) this.errors.push(`row ${n + 1}: no ${this.key}`);
      else if (counts.get(keyOf(row))! > 1) this.errors.push(`row ${n + 1}: duplicate ${this.key} in the file`);
      else if (!row.LastName || !row.Company) this.errors.push(`row ${n + 1}: required fields are missing: LastName, Company`);
      else {
        const matches = this.leads.filter((lead) => keyOf(lead) === keyOf(row));
        if (matches.length > 1) this.errors.push(`row ${n + 1}: ${this.key} matches ${matches.length} leads`);
        else if (matches.length === 1) Object.assign(matches[0], Object.fromEntries(Object.entries(row).filter(([, v]) => v !== "")));
        else this.leads.push({ ...row });
      }
    }
  }
}
