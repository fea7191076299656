// The export CSVs. Column names and order are the old system's (CRM imports rely on them); new
// columns come after them. Every cell is quoted; text that a spreadsheet would run as a formula is neutralised.
import type { ExportFileName } from "../domain/export-formats.ts";

export const COMPANY_COLUMNS = [
  "company_name", "company_city", "company_state", "pms", "units", "employees", "domain", "single_family_focus",
  "property_mix", "icp_fit", "icp_score", "agent_summary",
  // added by pm-leads
  "website", "pms_confidence", "pms_evidence_urls", "units_quote", "units_source_url", "source_urls", "discovered_at", "researched_at",
  // evidence: the page behind each claim, when it was read, and whether a search or fetch read it (docs/usage.md)
  "pms_evidence_url", "pms_read_at", "units_evidence_url", "units_read_at", "units_evidence", "domain_evidence", "site_name",
] as const;

export const CONTACT_COLUMNS = [
  "full_name", "title", "email", "linkedin_url", "department", "seniority", "quality_score", "icp_score", "company_name",
  "company_domain", "company_website", "company_state", "personalization_notes", "personal_anecdotes",
  "professional_anecdotes", "data_sources", "additional_research_notes", "agent_summary", "created_at",
  // added by pm-leads
  "email_class", "title_tier", "email_domain_check", "email_checked_at", "email_free_mail", "email_disposable",
  // evidence: the page behind the title and the e-mail, when it was read, and whether the search read it
  "title_evidence_url", "title_read_at", "title_evidence", "email_evidence_url", "email_read_at", "email_evidence",
] as const;

/**
 * E-mail classes exported by default. A pattern-inferred address is a guess and a personal one is
 * not the company's: both are left out unless the user asks for them (--include-unverified-emails).
 */
export const VERIFIED_EMAIL_CLASSES = ["published", "generic_role"] as const;

/**
 * The contact as exported, in every format. Its e-mail cell is emptied when the address's domain
 * cannot receive mail or is a disposable inbox, whatever the flags; and, unless unverified e-mails
 * are included, when its class is not verified or its domain was not found deliverable (unknown:
 * DNS did not answer, or it was never checked).
 */
export function exportableContact<T extends { email?: unknown; email_class?: unknown; email_domain_check?: unknown; email_disposable?: unknown }>(
  contact: T, includeUnverified: boolean,
): T {
  if (contact.email_domain_check === "undeliverable" || contact.email_disposable === true) return { ...contact, email: null };
  if (includeUnverified) return contact;
  const verified = (VERIFIED_EMAIL_CLASSES as readonly unknown[]).includes(contact.email_class) && contact.email_domain_check === "deliverable";
  return verified ? contact : { ...contact, email: null };
}

/**
 * CSV injection. A spreadsheet evaluates a cell whose text starts with = + - @ (or tab/CR), and one
 * that imports the file with another separator (Excel in a locale that splits at `;`, a tab paste)
 * or splits a cell's text again sees a new cell after each `,` `;` tab or line break. So a `'` goes
 * before the formula character at the start of the text and after every separator (spaces between
 * them allowed): `x;@SUM(1)` is exported as `x;'@SUM(1)`, `=1+2` as `'=1+2`. A leading tab or CR
 * gets the `'` in front of it too.
 */
export function neutraliseFormulas(text: string): string {
  const parts = text.replace(/([,;\t\r\n] *)(?=[=+\-@])/g, "$1'");
  return /^ *[=+\-@\t\r]/.test(parts) ? `'${parts}` : parts;
}

// every cell quoted: no reader has to guess where a cell that holds a separator ends
function cell(value: unknown): string {
  if (value === null || value === undefined) return '""';
  const text = neutraliseFormulas(value instanceof Date ? value.toISOString() : String(value));
  return `"${text.replaceAll('"', '""')}"`;
}

/** Excel reads a CSV as UTF-8 only when it starts with a byte order mark (else as the system's code page). */
export const EXCEL_BOM = "\uFEFF";

export function toCsv(columns: readonly string[], rows: Record<string, unknown>[], options: { excel?: boolean } = {}): string {
  const lines = [columns.map(cell).join(","), ...rows.map((row) => columns.map((c) => cell(row[c])).join(","))];
  return (options.excel ? EXCEL_BOM : "") + lines.join("\r\n") + "\r\n";
}

/** companies_<run8>_<YYYYMMDD_HHMMSS>.csv, as the old system named them (UTC); the CRM files likewise (hubspot_..., salesforce_leads_...). */
export function exportFileName(kind: ExportFileName, runId: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  return `${kind}_${runId.slice(0, 8)}_${stamp}.csv`;
}
