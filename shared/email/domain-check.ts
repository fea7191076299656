// Can a domain receive mail? Asked of DNS only (never of a mail server):
//   MX records -> yes, at those hosts; a null MX (RFC 7505: one MX of preference 0 and host ".")
//   -> no; no MX but an A or AAAA record -> yes, at the domain itself (RFC 5321 §5.1, the implicit
//   MX); NXDOMAIN, or no MX, A nor AAAA -> no. A timeout, SERVFAIL or REFUSED proves nothing either
//   way: "unknown" (the export treats it as unverified).
import type { CheckStore, DnsQuery, DnsReply, DomainCheck, DomainReason, DomainVerdict } from "./types.ts";

const unknownReason = (reply: Exclude<DnsReply, { rcode: "NOERROR" }>): DomainReason =>
  reply.rcode === "TIMEOUT" ? "timeout" : reply.rcode === "SERVFAIL" ? "servfail" : reply.rcode === "REFUSED" ? "refused" : "dns_error";

export async function checkDomain(domain: string, query: DnsQuery, now: () => Date = () => new Date()): Promise<DomainCheck> {
  const verdict = (verdict: DomainVerdict, reason: DomainReason, mx_hosts: string[] = [], error: string | null = null): DomainCheck =>
    ({ domain, verdict, reason, mx_hosts, error, checked_at: now().toISOString() });
  const mx = await query(domain, "MX");
  if (mx.rcode === "NXDOMAIN") return verdict("undeliverable", "nxdomain");
  // (the runtime's resolver cannot say why it found no MX: the domain's address may still answer)
  if (mx.rcode !== "NOERROR" && mx.rcode !== "NOTFOUND") return verdict("unknown", unknownReason(mx), [], mx.detail);
  if (mx.rcode === "NOERROR" && mx.mx.length > 0) {
    const hosts = mx.mx.filter((r) => r.exchange !== "" && r.exchange !== ".").sort((a, b) => a.preference - b.preference).map((r) => r.exchange);
    // a null MX says "no mail here"; one beside real hosts is a misconfiguration, and the hosts win
    return hosts.length > 0 ? verdict("deliverable", "mx", [...new Set(hosts)]) : verdict("undeliverable", "null_mx");
  }
  // no MX: the domain's own address receives mail, if it has one (both asked at once)
  const addresses = await Promise.all([query(domain, "A"), query(domain, "AAAA")]);
  if (addresses.some((a) => a.rcode === "NOERROR" && a.addresses.length > 0)) return verdict("deliverable", "implicit_mx", [domain]);
  const failed = [mx, ...addresses].find((a): a is Exclude<DnsReply, { rcode: "NOERROR" }> => a.rcode !== "NOERROR" && a.rcode !== "NXDOMAIN");
  if (failed) return verdict("unknown", unknownReason(failed), [], failed.detail);
  return verdict("undeliverable", "no_records");
}

/**
 * The checks of one invocation: each domain asked once (in memory), a fresh check from the store
 * taken as it is, the others asked of DNS at once. `checkedNow` are the new ones, to be stored.
 */
export class DomainChecker {
  private readonly known = new Map<string, Promise<{ check: DomainCheck; stored: boolean }>>();

  /** `query(signal)`: a DNS client whose lookups end when the signal does */
  constructor(private readonly query: (signal?: AbortSignal) => DnsQuery) {}

  async check(domains: string[], store: CheckStore, signal?: AbortSignal): Promise<{ checks: Map<string, DomainCheck>; checkedNow: DomainCheck[] }> {
    const wanted = [...new Set(domains)];
    const missing = wanted.filter((d) => !this.known.has(d));
    if (missing.length > 0) {
      const stored = store.fresh(missing);
      for (const domain of missing) {
        this.known.set(domain, stored.then(async (rows) => {
          const row = rows.find((r) => r.domain === domain);
          return row ? { check: row, stored: true } : { check: await checkDomain(domain, this.query(signal)), stored: false };
        }).catch((error) => {
          this.known.delete(domain); // the store failed: nothing is known, the task fails and is retried
          throw error;
        }));
      }
    }
    const results = await Promise.all(wanted.map(async (d) => [d, await this.known.get(d)!] as const));
    // an unknown verdict is not kept in memory either: the next task asks again
    for (const [domain, { check }] of results) if (check.verdict === "unknown") this.known.delete(domain);
    return {
      checks: new Map(results.map(([d, r]) => [d, r.check])),
      checkedNow: results.filter(([, r]) => !r.stored).map(([, r]) => r.check),
    };
  }
}
