// Free-mail providers (email-providers, pinned in package.json: goware's list of webmail domains,
// about 8,800), apart from the other lists: the run API's suppression import needs this one alone.
// @ts-types="./email-providers.d.ts"
import freeMailDomains from "email-providers";

const FREE_MAIL = new Set(freeMailDomains.map((d) => d.toLowerCase()));

/** The domain and each parent of it, down to two labels: mx.mail.example.com, mail.example.com, example.com. */
export function domainAndParents(domain: string): string[] {
  const labels = domain.split(".");
  return labels.slice(0, Math.max(labels.length - 1, 1)).map((_, i) => labels.slice(i).join("."));
}

/** A free or webmail provider's domain (gmail.com, outlook.com, …): the address is a person's own, not the company's. */
export const isFreeMailDomain = (domain: string): boolean => domainAndParents(domain).some((d) => FREE_MAIL.has(d));
