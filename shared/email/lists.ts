// The published lists the e-mail class is decided with, pinned in package.json: free-mail providers
// (email-providers: goware's list of webmail domains, about 8,800) and disposable inboxes
// (disposable-email-domains-js: the disposable-email-domains project's blocklist, about 8,900).
// Role accounts are ours: no list on npm is kept for them.
// @ts-types="./email-providers.d.ts"
import freeMailDomains from "email-providers";
import { disposableEmailBlocklistSet } from "disposable-email-domains-js";

const FREE_MAIL = new Set(freeMailDomains.map((d) => d.toLowerCase()));
const DISPOSABLE = disposableEmailBlocklistSet();

/** The domain and each parent of it, down to two labels: mx.mail.example.com, mail.example.com, example.com. */
function domainAndParents(domain: string): string[] {
  const labels = domain.split(".");
  return labels.slice(0, Math.max(labels.length - 1, 1)).map((_, i) => labels.slice(i).join("."));
}

/** A free or webmail provider's domain (gmail.com, outlook.com, …): the address is a person's own, not the company's. */
export const isFreeMailDomain = (domain: string): boolean => domainAndParents(domain).some((d) => FREE_MAIL.has(d));

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
