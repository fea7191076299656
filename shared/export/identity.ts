// Who a row is, for CRM imports: stable external ids, and a person's name split as CRMs want it.
// The ids come from natural keys only (the company's domain in the form the database stores it,
// normalizeDomain, the person's normalised name at that domain), never from a run's uuids: the same company
// or person found by two runs gets the same id, so a CRM that upserts on it keeps one record.
import { createHash } from "node:crypto";
import { normalizeDomain } from "../domain/schemas.ts";
import type { ContactExportRow } from "./rows.ts";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest("hex").slice(0, 24);

/** "Dr. José  O'Neil, Jr." and "jose oneil jr" are one person: accents, case, punctuation and spacing do not count. */
export function normaliseName(name: string): string {
  return name.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/['’`.]/g, "").replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** pmc_ + 24 hex of SHA-256 over the normalised domain. */
export const companyExternalId = (domain: string) => `pmc_${digest(`company:${normalizeDomain(domain)}`)}`;

/**
 * pmp_ + 24 hex of SHA-256 over the company's domain and the person's normalised name. Not the
 * e-mail: it may be left out of an export (unverified) or found only by a later run, and the id
 * must be the same either way.
 */
export const contactExternalId = (companyDomain: string, fullName: string) =>
  `pmp_${digest(`contact:${normalizeDomain(companyDomain)}:${normaliseName(fullName)}`)}`;

const SUFFIX = /^(jr|sr|ii|iii|iv|phd|md|esq|cpa|cpm)\.?$/i;

/** First and last name: the last word is the last name (with a suffix such as "Jr." after it, kept), the words before it the first. */
export function splitName(fullName: string): { first: string; last: string } {
  const words = fullName.trim().replace(/,/g, " ").split(/\s+/).filter(Boolean);
  if (words.length === 0) return { first: "", last: "" };
  const lastStart = words.length - (words.length > 2 && SUFFIX.test(words[words.length - 1]) ? 2 : 1);
  return { first: words.slice(0, lastStart).join(" "), last: words.slice(lastStart).join(" ") };
}

/** Each person once (by their id): a run that found one twice must not make a CRM refuse the file. The one with an e-mail wins. */
export function onePerPerson<T extends Pick<ContactExportRow, "company_domain" | "full_name" | "email">>(contacts: T[]): T[] {
  const byId = new Map<string, T>();
  for (const contact of contacts) {
    const id = contactExternalId(contact.company_domain, contact.full_name);
    const known = byId.get(id);
    if (!known || (!known.email && contact.email)) byId.set(id, contact);
  }
  return [...byId.values()];
}
