// What contact research does with the e-mails a provider found: each one's class decided in code,
// then the domain check of each address's domain (one per domain, from the database's fresh checks,
// memory, or DNS). Built once per invocation from the function's settings.
import type { Sql } from "postgres";
import { z } from "zod";
import type { EmailClass } from "../domain/schemas.ts";
import { classifyEmail } from "./classify.ts";
import { parseNameServer, runtimeQuery, systemNameServer, udpQuery, withFallback, type NameServer } from "./dns.ts";
import { DomainChecker } from "./domain-check.ts";
import type { CheckedEmail, CheckStore, DomainCheck, EmailCheck, EmailClassification } from "./types.ts";

const Settings = z.object({
  // the name server to ask (tests and the local stack: the offline world's); unset: the system's
  PM_LEADS_DNS_SERVER: z.string().optional(),
  PM_LEADS_DNS_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(3000),
  // how long a definite verdict is taken from the database before DNS is asked again
  PM_LEADS_EMAIL_CHECK_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(24 * 7),
});

export interface EmailCheckSettings {
  /** null: none configured and none in /etc/resolv.conf (the runtime's resolver is asked) */
  nameServer: NameServer | null;
  timeoutMs: number;
  ttlSeconds: number;
}

export function emailCheckSettings(vars: Record<string, string | undefined>): EmailCheckSettings {
  const parsed = Settings.safeParse(Object.fromEntries(Object.keys(Settings.shape).map((k) => [k, vars[k] === "" ? undefined : vars[k]])));
  if (!parsed.success) throw new Error(`bad e-mail check setting ${String(parsed.error.issues[0].path[0])}: ${parsed.error.issues[0].message}`);
  const e = parsed.data;
  return {
    nameServer: e.PM_LEADS_DNS_SERVER ? parseNameServer(e.PM_LEADS_DNS_SERVER) : systemNameServer(),
    timeoutMs: e.PM_LEADS_DNS_TIMEOUT_MS,
    ttlSeconds: Math.round(e.PM_LEADS_EMAIL_CHECK_TTL_HOURS * 3600),
  };
}

/** The database's checks, fresh within the TTL (pm_pipeline.fresh_email_domains). */
export function databaseChecks(sql: Sql, ttlSeconds: number): CheckStore {
  return {
    async fresh(domains) {
      const rows = await sql<(Omit<DomainCheck, "checked_at"> & { checked_at: Date })[]>`
        select domain, verdict, reason, mx_hosts, error, checked_at from pm_pipeline.fresh_email_domains(${domains}, ${ttlSeconds})`;
      return rows.map((r) => ({ ...r, checked_at: r.checked_at.toISOString() }));
    },
  };
}

export class ContactEmails implements EmailCheck {
  private readonly checker: DomainChecker;

  constructor(readonly settings: EmailCheckSettings) {
    // our UDP client first (it tells NXDOMAIN from SERVFAIL); the runtime's resolver where it cannot send
    const runtime = runtimeQuery(settings.timeoutMs);
    this.checker = new DomainChecker((signal) =>
      settings.nameServer ? withFallback(udpQuery(settings.nameServer, settings.timeoutMs, signal), runtime) : runtime);
  }

  /** The longest a check of one task can take: the MX question, then A and AAAA at once. */
  get secondsNeeded(): number {
    return (2 * this.settings.timeoutMs) / 1000;
  }

  classify<C extends { email: string | null; email_class: EmailClass }>(contact: C, companyDomain: string): C & EmailClassification {
    return { ...contact, ...classifyEmail(contact.email, companyDomain, contact.email_class) };
  }

  async check<C extends EmailClassification>(contacts: C[], sql: Sql, signal?: AbortSignal): Promise<{ contacts: (C & CheckedEmail)[]; email_domains: DomainCheck[] }> {
    const domains = contacts.flatMap((c) => c.email_domain ? [c.email_domain] : []);
    if (domains.length === 0) return { contacts: contacts.map((c) => ({ ...c, email_domain_check: null, email_checked_at: null })), email_domains: [] };
    const { checks, checkedNow } = await this.checker.check(domains, databaseChecks(sql, this.settings.ttlSeconds), signal);
    return {
      contacts: contacts.map((c) => {
        const check = c.email_domain ? checks.get(c.email_domain) : undefined;
        return { ...c, email_domain_check: check?.verdict ?? null, email_checked_at: check?.checked_at ?? null };
      }),
      email_domains: checkedNow,
    };
  }
}
