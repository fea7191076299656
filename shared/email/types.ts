// The e-mail check's types, apart from the code so that the pipeline can name them without pulling
// the lists and the DNS client into every function that type-checks it (only contact-research has them).
import type { Sql } from "postgres";
import type { EmailClass } from "../domain/schemas.ts";

export type RecordType = "MX" | "A" | "AAAA";

/** What a name server said: the answer's rcode and records, or that it said nothing in time. */
export type DnsReply =
  | { rcode: "NOERROR"; mx: { preference: number; exchange: string }[]; addresses: string[] }
  | { rcode: "NXDOMAIN" | "SERVFAIL" | "REFUSED" | "OTHER"; detail: string }
  // the runtime's resolver found nothing: NXDOMAIN, no records or SERVFAIL, it cannot say which
  | { rcode: "NOTFOUND"; detail: string }
  | { rcode: "TIMEOUT"; detail: string }
  // no question could be sent at all (no UDP socket here, no name server known): ask another way
  | { rcode: "UNREACHABLE"; detail: string };

export type DnsQuery = (name: string, type: RecordType) => Promise<DnsReply>;

export const DOMAIN_VERDICTS = ["deliverable", "undeliverable", "unknown"] as const;
export type DomainVerdict = (typeof DOMAIN_VERDICTS)[number];

/** Why: mx, implicit_mx (A/AAAA), null_mx, nxdomain, no_records, or for unknown: timeout, servfail, refused, dns_error. */
export type DomainReason = "mx" | "implicit_mx" | "null_mx" | "nxdomain" | "no_records" | "timeout" | "servfail" | "refused" | "dns_error";

export interface DomainCheck {
  domain: string;
  verdict: DomainVerdict;
  reason: DomainReason;
  /** where mail goes, by preference (the domain itself for an implicit MX) */
  mx_hosts: string[];
  /** what went wrong, for unknown */
  error: string | null;
  checked_at: string;
}

/** Checks already made (the database's, shared by every worker), by domain; only fresh ones are returned. */
export interface CheckStore {
  fresh(domains: string[]): Promise<DomainCheck[]>;
}

export interface EmailClassification {
  email_class: EmailClass;
  /** the address's domain, lowercased (null: no address) */
  email_domain: string | null;
  email_free_mail: boolean | null;
  email_disposable: boolean | null;
}

export type CheckedEmail = EmailClassification & { email_domain_check: DomainVerdict | null; email_checked_at: string | null };

/** What contact research asks of the e-mail check (ContactEmails in contact-emails.ts). */
export interface EmailCheck {
  /** the longest a check of one task can take */
  readonly secondsNeeded: number;
  /** the class decided in code, with the lists' flags (no network) */
  classify<C extends { email: string | null; email_class: EmailClass }>(contact: C, companyDomain: string): C & EmailClassification;
  /** each contact with its domain's check; `email_domains` are the checks made now, for the database */
  check<C extends EmailClassification>(contacts: C[], sql: Sql, signal?: AbortSignal): Promise<{ contacts: (C & CheckedEmail)[]; email_domains: DomainCheck[] }>;
}
