// The offline world's DNS on loopback, for the local stack and the test stack (scripts/stack.sh
// starts it): the mail records of the synthetic companies' .example domains (world.ts
// worldDnsRecords), NXDOMAIN for every other name. The functions host asks it through
// PM_LEADS_DNS_SERVER, so the demo's e-mails get a real domain check without leaving the machine.
//   tsx scripts/world-dns.ts PORT     (prints {"dns": "127.0.0.1:PORT"} once it answers)
import { startDnsServer, worldZone } from "../tests/helpers/dns-server.ts";

const port = Number(process.argv[2] ?? "0");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`world-dns: not a port: ${process.argv[2]}`);
  process.exit(2);
}
const server = await startDnsServer(worldZone, port);
console.log(JSON.stringify({ dns: server.address, pid: process.pid }));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void server.close().then(() => process.exit(0)));
