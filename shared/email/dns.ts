// A DNS client over UDP (RFC 1035), for the questions the mail check asks: MX, A, AAAA. Ours rather
// than the runtime's because Deno.resolveDns, and node:dns in Deno built on it, report NXDOMAIN, an
// empty answer and SERVFAIL all as the same NotFound (Deno 2.1, denoland/deno#36561), and a
// SERVFAIL proves nothing about the domain. node:dgram and dns-packet run unchanged in Node and in
// Deno. It asks one name server (PM_LEADS_DNS_SERVER, or the system's from /etc/resolv.conf), one
// question per datagram, with recursion desired, and never talks to a mail server.
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
// @ts-types="@types/dns-packet"
import packet from "dns-packet";
import type { DnsQuery, DnsReply } from "./types.ts";

export interface NameServer {
  host: string;
  port: number;
}

/** "127.0.0.1:5353", "[::1]:53", "10.0.0.2" -> a name server; a clear error for anything else. */
export function parseNameServer(text: string): NameServer {
  const m = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(text.trim()) ?? /^([0-9.]+)(?::(\d+))?$/.exec(text.trim());
  const port = Number(m?.[2] ?? 53);
  if (!m || !isIP(m[1]) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PM_LEADS_DNS_SERVER must be an IP address with an optional port (127.0.0.1:5353, [::1]:53), not ${JSON.stringify(text)}`);
  }
  return { host: m[1], port };
}

/** The first name server of /etc/resolv.conf (null: none can be read there). */
export function systemNameServer(file = "/etc/resolv.conf"): NameServer | null {
  try {
    const line = readFileSync(file, "utf8").split("\n").map((l) => l.trim()).find((l) => /^nameserver\s+\S+/.test(l));
    const address = line?.split(/\s+/)[1].replace(/%.*$/, ""); // without an IPv6 zone index
    return address && isIP(address) ? { host: address, port: 53 } : null;
  } catch {
    return null;
  }
}

// the header's response code (the low four bits of its flags)
const RCODES: Record<number, "NXDOMAIN" | "SERVFAIL" | "REFUSED"> = { 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED" };

/**
 * Asks `server` one question and waits `timeoutMs` for its answer (a reply to another question, or
 * with another id, is ignored: an off-path spoof must guess both). `signal` ends the wait early.
 */
export function udpQuery(server: NameServer, timeoutMs: number, signal?: AbortSignal): DnsQuery {
  return (name, type) => new Promise<DnsReply>((resolve) => {
    const id = Math.floor(Math.random() * 0x10000);
    let socket: ReturnType<typeof createSocket>;
    try {
      socket = createSocket(isIP(server.host) === 6 ? "udp6" : "udp4");
    } catch (error) {
      return resolve({ rcode: "UNREACHABLE", detail: `no UDP socket: ${(error as Error).message}` });
    }
    let done = false;
    const finish = (reply: DnsReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      try {
        socket.close();
      } catch { /* already closed */ }
      resolve(reply);
    };
    const timer = setTimeout(() => finish({ rcode: "TIMEOUT", detail: `no answer from ${server.host}:${server.port} within ${timeoutMs} ms` }), timeoutMs);
    const aborted = () => finish({ rcode: "TIMEOUT", detail: "the check was cut short" });
    if (signal?.aborted) return aborted();
    signal?.addEventListener("abort", aborted, { once: true });
    socket.on("error", (error) => finish({ rcode: "UNREACHABLE", detail: `${server.host}:${server.port}: ${error.message}` }));
    socket.on("message", (message: Uint8Array) => {
      let reply: packet.DecodedPacket;
      try {
        reply = packet.decode(message as never);
      } catch {
        return; // not a DNS message: keep waiting for the real answer
      }
      const question = reply.questions?.[0];
      if (reply.id !== id || reply.type !== "response" || question?.name.toLowerCase() !== name.toLowerCase() || question.type !== type) return;
      const rcode = (reply.flags ?? 0) & 0x0f;
      if (rcode !== 0) return finish({ rcode: RCODES[rcode] ?? "OTHER", detail: `${type} ${name}: ${RCODES[rcode] ?? `rcode ${rcode}`}` });
      const answers = (reply.answers ?? []).filter((a) => a.name.toLowerCase() === name.toLowerCase() || a.type === type);
      // a truncated answer without records is no proof of "none" (the full one needs TCP)
      if (reply.flag_tc && answers.length === 0) return finish({ rcode: "OTHER", detail: `${type} ${name}: truncated answer` });
      finish({
        rcode: "NOERROR",
        mx: answers.flatMap((a) => a.type === "MX" ? [{ preference: a.data.preference ?? 0, exchange: (a.data.exchange ?? "").replace(/\.$/, "") }] : []),
        addresses: answers.flatMap((a) => a.type === "A" || a.type === "AAAA" ? [String(a.data)] : []),
      });
    });
    const query = packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }] });
    try {
      socket.send(query, server.port, server.host, (error) => {
        if (error) finish({ rcode: "UNREACHABLE", detail: `${server.host}:${server.port}: ${error.message}` });
      });
    } catch (error) {
      finish({ rcode: "UNREACHABLE", detail: `${server.host}:${server.port}: ${(error as Error).message}` });
    }
  });
}

/**
 * The runtime's own resolver (node:dns; in Deno built on Deno.resolveDns, which the Edge Runtime
 * provides), for where no UDP socket may be opened or no name server is known (a hosted isolate).
 * Records it finds are as good as ours. A name it does not find proves nothing: Deno 2.1 reports
 * NXDOMAIN, no records and SERVFAIL alike (denoland/deno#36561), so that is "NOTFOUND": an address
 * found then still means mail is taken (implicit MX), and nothing found is unknown, never "cannot
 * receive mail".
 */
export function runtimeQuery(timeoutMs: number, server?: NameServer): DnsQuery {
  return async (name, type) => {
    const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (server) resolver.setServers([isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`]);
    try {
      if (type === "MX") {
        const records = await resolver.resolveMx(name);
        return { rcode: "NOERROR", mx: records.map((r) => ({ preference: r.priority, exchange: r.exchange.replace(/\.$/, "") })), addresses: [] };
      }
      const addresses = type === "A" ? await resolver.resolve4(name) : await resolver.resolve6(name);
      return { rcode: "NOERROR", mx: [], addresses };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ETIMEOUT") return { rcode: "TIMEOUT", detail: `${type} ${name}: the runtime's resolver timed out` };
      // "the name exists, without records of this type": said only when the answer said so (Node)
      if (code === "ENODATA") return { rcode: "NOERROR", mx: [], addresses: [] };
      return { rcode: "NOTFOUND", detail: `${type} ${name}: the runtime's resolver found nothing (${code ?? (error as Error).message}), and cannot tell NXDOMAIN from SERVFAIL` };
    }
  };
}

/** Asks `first`; where it could not send the question at all, asks `second` instead. */
export function withFallback(first: DnsQuery, second: DnsQuery): DnsQuery {
  return async (name, type) => {
    const reply = await first(name, type);
    return reply.rcode === "UNREACHABLE" ? second(name, type) : reply;
  };
}
