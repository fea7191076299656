// The e-mail class, decided in code from the address and the company's domain: what the provider
// claimed (published on the company's pages, or inferred from its pattern) is kept only when the
// address gives no reason to say otherwise.
import { type EmailClass, isDomainName, normalizeDomain } from "../domain/schemas.ts";
import { isDisposableDomain, isFreeMailDomain, isRoleAccount } from "./lists.ts";
import type { EmailClassification } from "./types.ts";

/** The domain an address is on, lowercased, without a trailing dot; null when it is not an address. */
export function emailDomain(email: string | null | undefined): string | null {
  const at = email?.trim().lastIndexOf("@") ?? -1;
  if (!email || at <= 0) return null;
  const domain = email.trim().slice(at + 1).toLowerCase().replace(/\.+$/, "");
  return isDomainName(domain) && normalizeDomain(domain) === domain ? domain : null;
}

/** The company's domain or one below it (mail.acme.com is acme.com's; acme.com.evil.example is not). */
const onCompanyDomain = (domain: string, company: string) => domain === company || domain.endsWith(`.${company}`);

/**
 * In order: a disposable inbox or a free-mail address is "personal" (flagged); a role inbox on any
 * domain is "generic_role"; an address on another domain than the company's is not the company's
 * published address ("unknown"); otherwise the provider's class stands.
 */
export function classifyEmail(email: string | null | undefined, companyDomain: string, claimed: EmailClass): EmailClassification {
  const domain = emailDomain(email);
  if (!email || !domain) return { email_class: email ? "unknown" : claimed, email_domain: domain, email_free_mail: null, email_disposable: null };
  const flags = { email_domain: domain, email_free_mail: isFreeMailDomain(domain), email_disposable: isDisposableDomain(domain) };
  const company = normalizeDomain(companyDomain);
  const local = email.trim().slice(0, email.trim().lastIndexOf("@"));
  const decided: EmailClass = flags.email_disposable || flags.email_free_mail ? "personal"
    : isRoleAccount(local) ? "generic_role"
    : !onCompanyDomain(domain, company) ? "unknown"
    : claimed;
  return { email_class: decided, ...flags };
}
