// Suppression lists arrive as CSV: a CRM's export (HubSpot companies or contacts; Salesforce
// accounts, leads or contacts), recognised by its header, or any spreadsheet with a domain,
// website or e-mail column (else its first column is taken). A row gives its company's domain from
// its website or domain cell, else from its e-mail's domain, unless that is a free-mail provider's:
// a customer's gmail.com address says nothing of the customer's company, and suppressing gmail.com
// would suppress nobody we research.
import { parse } from "csv-parse/sync";
import { isFreeMailDomain } from "../email/free-mail.ts";
import { ApiError } from "./http.ts";
import type { SuppressionCsvFormat } from "./responses.ts";


export interface SuppressionCsv {
  format: SuppressionCsvFormat;
  /** each domain (as written) with the data row it came from, 1 = the first row under the header */
  entries: { domain: string; row: number }[];
  /** rows whose only domain was a free-mail provider's e-mail */
  freeMailSkipped: number;
  /** rows with no website, domain or e-mail at all */
  noDomain: number;
}

/** "Company Domain Name" -> "companydomainname": headers compared without case, spaces or punctuation. */
const key = (header: string) => header.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * The CRM exports, by the columns their headers have: labels from the CRM's own export, or the
 * API names Salesforce's Data Loader and data export write (docs/exports.md). The first that fits wins.
 */
const LAYOUTS: { format: SuppressionCsvFormat; fits: (h: Set<string>) => boolean; domains: string[]; emails: string[] }[] = [
  // HubSpot's exports always start with the record id
  { format: "hubspot_companies", fits: (h) => h.has("recordid") && (h.has("companydomainname") || h.has("websiteurl")), domains: ["companydomainname", "websiteurl"], emails: [] },
  { format: "hubspot_contacts", fits: (h) => h.has("recordid") && h.has("email"), domains: ["companydomainname", "websiteurl"], emails: ["email"] },
  // a lead has its company as a text field, beside the person
  { format: "salesforce_leads", fits: (h) => (h.has("company") || h.has("companyaccount")) && (h.has("lastname") || h.has("leadid") || h.has("leadsource") || h.has("leadstatus")),
    domains: ["website"], emails: ["email"] },
  // a contact belongs to an account
  { format: "salesforce_contacts", fits: (h) => (h.has("accountid") || h.has("accountname")) && h.has("email") && (h.has("lastname") || h.has("contactid")),
    domains: ["accountwebsite"], emails: ["email"] },
  { format: "salesforce_accounts", fits: (h) => (h.has("accountname") || h.has("accountid") || (h.has("name") && h.has("id"))) && h.has("website"), domains: ["website"], emails: [] },
];

const DOMAIN_HEADER = /^(company)?(domain|website|url|site|domainname|websiteurl)$/;
const EMAIL_HEADER = /^(e)?mail(address)?$/;

function invalid(message: string): ApiError {
  return new ApiError("invalid_input", `csv: ${message}`, [{ field: "csv", message }]);
}

/** The domain of an e-mail address, lower-cased ("Jo <jo@Acme.com>" -> "acme.com"); null when the cell holds none. */
export function emailDomain(cell: string): string | null {
  const m = /@([^\s@<>"',;]+)\s*>?\s*$/.exec(cell.trim());
  return m ? m[1].toLowerCase().replace(/\.$/, "") : null;
}


export function readSuppressionCsv(csv: string): SuppressionCsv {
  let rows: string[][];
  try {
    rows = parse(csv, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw invalid((error as Error).message);
  }
  if (rows.length === 0) throw invalid("no rows");
  const headers = rows[0].map(key);
  const columns = (names: string[]) => names.map((n) => headers.indexOf(n)).filter((i) => i >= 0);
  const layout = LAYOUTS.find((l) => l.fits(new Set(headers)));
  let domainColumns: number[];
  let emailColumns: number[];
  let data = rows.slice(1);
  if (layout) {
    [domainColumns, emailColumns] = [columns(layout.domains), columns(layout.emails)];
  } else {
    // a plain list: its domain column, else (row by row) its e-mail column; with neither, the first column of every row (no header)
    const domain = headers.findIndex((h) => DOMAIN_HEADER.test(h));
    const email = headers.findIndex((h) => EMAIL_HEADER.test(h));
    [domainColumns, emailColumns] = [domain >= 0 ? [domain] : [], email >= 0 ? [email] : []];
    if (domain < 0 && email < 0) [domainColumns, data] = [[0], rows];
  }
  const result: SuppressionCsv = { format: layout?.format ?? "domain_list", entries: [], freeMailSkipped: 0, noDomain: 0 };
  data.forEach((row, i) => {
    const direct = domainColumns.map((c) => row[c] ?? "").find((cell) => cell !== "");
    if (direct !== undefined) return void result.entries.push({ domain: direct, row: i + 1 });
    const email = emailColumns.map((c) => row[c] ?? "").find((cell) => cell !== "");
    const domain = email === undefined ? null : emailDomain(email) ?? email; // not an address: domain_problem says why
    if (domain === null) result.noDomain++;
    else if (isFreeMailDomain(domain)) result.freeMailSkipped++;
    else result.entries.push({ domain, row: i + 1 });
  });
  return result;
}
