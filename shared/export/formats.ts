// Each export file: its columns, the views it reads and how their rows become its rows.
import { COMPANY_COLUMNS, CONTACT_COLUMNS, exportableContact, toCsv } from "./csv.ts";
import type { ExportFileName } from "../domain/export-formats.ts";
import { HUBSPOT_COLUMNS, hubspotRows } from "./hubspot.ts";
import type { ExportData, ExportRow } from "./rows.ts";
import { SALESFORCE_LEAD_COLUMNS, salesforceLeadRows } from "./salesforce.ts";

export interface ExportFile {
  columns: readonly string[];
  /** the views it needs: a file that needs only one does not read the other */
  reads: readonly ("companies" | "contacts")[];
  rows(data: ExportData): ExportRow[];
}

export const EXPORT_FILES: Record<ExportFileName, ExportFile> = {
  companies: { columns: COMPANY_COLUMNS, reads: ["companies"], rows: (data) => data.companies },
  contacts: { columns: CONTACT_COLUMNS, reads: ["contacts"], rows: (data) => data.contacts },
  hubspot: { columns: HUBSPOT_COLUMNS, reads: ["companies", "contacts"], rows: hubspotRows },
  salesforce_leads: { columns: SALESFORCE_LEAD_COLUMNS, reads: ["companies", "contacts"], rows: salesforceLeadRows },
};

/**
 * One export file's CSV from the views' rows. The contacts go through exportableContact first, so
 * every format leaves out the same e-mails.
 */
export function exportCsv(file: ExportFileName, views: ExportData, options: { includeUnverifiedEmails: boolean; excel?: boolean }): string {
  const contacts = views.contacts.map((contact) => exportableContact(contact, options.includeUnverifiedEmails));
  const { columns, rows } = EXPORT_FILES[file];
  return toCsv(columns, rows({ companies: views.companies, contacts }), { excel: options.excel });
}
