// The published lists the e-mail class is decided with, pinned in package.json: free-mail providers
// (free-mail.ts) and disposable inboxes (disposable-email-domains-js: the disposable-email-domains
// project's blocklist, about 8,900). Role accounts are ours: no list on npm is kept for them.
import { disposableEmailBlocklistSet } from "disposable-email-domains-js";
import { domainAndParents } from "./free-mail.ts";

export { isFreeMailDomain } from "./free-mail.ts";

const DISPOSABLE = disposableEmailBlocklistSet();

/** A throwaway inbox (mailinator.com and its subdomains, …). */
export const isDisposableDomain = (domain: string): boolean => domainAndParents(domain).some((d) => DISPOSABLE.has(d));

/**
 * Local parts of shared inboxes at property managers and small companies: a role, not a person
 * (compared without dots, dashes, underscores and trailing digits: front-desk2 is frontdesk).
 */
export const ROLE_ACCOUNTS: ReadonlySet<string> = new Set([
  "info", "information", "office", "frontdesk", "reception", "contact", "contactus", "hello", "hi", "team", "staff", "mail", "email",
  "admin", "administrator", "webmaster", "postmaster", "hostmaster", "abuse", "noreply", "donotreply", "support", "help", "helpdesk",
  "service", "services", "customerservice", "care", "sales", "marketing", "media", "press", "news", "newsletter",
  "leasing", "lease", "leases", "rent", "rentals", "rental", "apply", "applications", "application", "showings", "tours",
  "management", "manager", "managers", "propertymanagement", "pm", "properties", "property", "homes", "realty",
  "maintenance", "repairs", "workorders", "emergency", "residents", "resident", "tenants", "tenant", "owners", "owner", "investors",
  "hoa", "association", "accounting", "accounts", "accountspayable", "ap", "ar", "billing", "payments", "invoices", "finance",
  "hr", "jobs", "careers", "recruiting", "legal", "compliance", "privacy", "security", "it", "operations", "ops", "inquiries", "enquiries",
]);

export function isRoleAccount(localPart: string): boolean {
  const plain = localPart.toLowerCase().replace(/\+.*$/, "").replace(/[._-]/g, "").replace(/\d+$/, "");
  return ROLE_ACCOUNTS.has(plain);
}
