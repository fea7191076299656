// A DNS server of a test's own on loopback (UDP, dns-packet on node:dgram): no lookup leaves the
// machine. A zone is a function from the question to what the server does: answer records, answer
// with an rcode (NXDOMAIN, SERVFAIL, ...), or stay silent (a server that never answers).
import { createSocket, type Socket } from "node:dgram";
import packet from "dns-packet";
import { worldDnsRecords } from "../../shared/providers/offline/world.ts";

export type ZoneAnswer =
  | { records: packet.Answer[] }
  | { rcode: "NXDOMAIN" | "SERVFAIL" | "REFUSED" }
  | "truncated" // the TC bit and no records: the answer did not fit in a datagram
  | "silent";

export type Zone = (name: string, type: string) => ZoneAnswer;

export interface DnsServer {
  /** "127.0.0.1:<port>", as PM_LEADS_DNS_SERVER takes it */
  address: string;
  host: string;
  port: number;
  /** every question asked, "MX acme.example" */
  questions: string[];
  close(): Promise<void>;
}

const RCODE_NUMBER = { NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 } as const;

/** Records of a zone, written short: mx("mail.x", 10), nullMx(), a("192.0.2.1"), aaaa("2001:db8::1"). */
export const mx = (name: string, exchange: string, preference = 10): packet.Answer =>
  ({ type: "MX", name, ttl: 300, data: { preference, exchange } });
export const nullMx = (name: string): packet.Answer => ({ type: "MX", name, ttl: 300, data: { preference: 0, exchange: "." } });
export const a = (name: string, address: string): packet.Answer => ({ type: "A", name, ttl: 300, data: address });
export const aaaa = (name: string, address: string): packet.Answer => ({ type: "AAAA", name, ttl: 300, data: address });

/** The offline world's zone (its companies' mail records, NXDOMAIN for every other name): scripts/world-dns.ts serves it. */
export const worldZone: Zone = (name) => {
  const records = worldDnsRecords(name);
  if (!records) return { rcode: "NXDOMAIN" };
  return { records: [...records.mx.map((r) => mx(name, r.exchange, r.preference)), ...records.a.map((address) => a(name, address))] };
};

export async function startDnsServer(zone: Zone, port = 0): Promise<DnsServer> {
  const socket: Socket = createSocket("udp4");
  const questions: string[] = [];
  socket.on("message", (message, peer) => {
    let query: packet.Packet;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    questions.push(`${question.type} ${question.name}`);
    const answer = zone(question.name.toLowerCase(), question.type);
    if (answer === "silent") return;
    const rcode = answer !== "truncated" && "rcode" in answer ? RCODE_NUMBER[answer.rcode] : 0;
    const reply = packet.encode({
      type: "response", id: query.id, questions: query.questions,
      // QR, RD as asked, RA, TC for a truncated answer, and the rcode in the low bits
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | packet.AUTHORITATIVE_ANSWER | rcode |
        (answer === "truncated" ? packet.TRUNCATED_RESPONSE : 0),
      answers: answer !== "truncated" && "records" in answer ? answer.records.filter((r) => r.type === question.type) : [],
    });
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, "127.0.0.1", () => resolve());
  });
  const bound = socket.address().port;
  return {
    address: `127.0.0.1:${bound}`, host: "127.0.0.1", port: bound, questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
