// One GET to a company's site that can never reach the machine or network it runs on (SSRF): the
// host is resolved here, every address is checked, and the connection goes to the checked address
// (no second lookup an attacker's DNS could answer differently). fetch() cannot do that in Deno
// (no resolver hook; its node:http ignores `lookup`/`createConnection`), so this is a small
// HTTP/1.1 client over node:net / node:tls, which Node and Deno both provide. TLS is verified
// against the host name (servername), not the address.
import { lookup } from "node:dns/promises";
import { connect as tcpConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { once } from "node:events";

/** How the detector reaches sites. Production: PUBLIC_INTERNET; tests inject one for loopback. */
export interface SiteNetwork {
  /** every address of `host` */
  resolve(host: string): Promise<string[]>;
  /** whether `address` may be connected to */
  allows(address: string): boolean;
  /** a connection to `address` (already checked) for `url` */
  connect(address: string, url: URL): Socket;
}

// names that never mean a public site, whatever a resolver says
const LOCAL_NAME = /(^|\.)(localhost|localdomain|local|internal|home\.arpa)$/i;
const MAX_HEADER_BYTES = 64 * 1024;

// [first address, prefix length] of IPv4 blocks that are not the public internet
const PRIVATE_V4: [string, number][] = [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10] /* CGNAT */, ["127.0.0.0", 8], ["169.254.0.0", 16] /* link-local, metadata */,
  ["172.16.0.0", 12], ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15],
  ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 4] /* multicast */, ["240.0.0.0", 4] /* reserved, broadcast */,
];

const v4Number = (address: string) => address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const PRIVATE_V4_RANGES = PRIVATE_V4.map(([base, bits]) => [v4Number(base), 2 ** (32 - bits)] as const);

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, "");
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4Number(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const parse = (part?: string) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
}

/** Whether `address` is a public unicast address: not loopback, private, link-local, CGNAT, unique-local, metadata, multicast. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    const n = v4Number(address);
    return !PRIVATE_V4_RANGES.some(([base, size]) => n >= base && n < base + size);
  }
  if (family !== 6) return false;
  const g = v6Groups(address);
  const v4 = (hi: number, lo: number) => isPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::)
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return v4(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6], g[7]);
  if (g[0] === 0x2002) return v4(g[1], g[2]);
  // only global unicast (2000::/3), less documentation (2001:db8::/32) and Teredo (2001::/32)
  if ((g[0] & 0xe000) !== 0x2000) return false;
  return !(g[0] === 0x2001 && (g[1] === 0x0db8 || g[1] === 0));
}

/**
 * A connection to `address` for `url`: TLS with the certificate checked against the URL's host
 * name (not the address), or plain TCP for http. `port` and `ca` are for tests only.
 */
export function connectTo(address: string, url: URL, test: { port?: number; ca?: string } = {}): Socket {
  if (url.protocol !== "https:") return tcpConnect({ host: address, port: test.port ?? 80 });
  return tlsConnect({ host: address, port: test.port ?? 443, servername: url.hostname, ALPNProtocols: ["http/1.1"], ...(test.ca ? { ca: test.ca } : {}) });
}

/** The internet as production sees it: DNS, public addresses only, TLS on 443 or TCP on 80. */
export const PUBLIC_INTERNET: SiteNetwork = {
  resolve: async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address),
  allows: isPublicAddress,
  connect: (address, url) => connectTo(address, url),
};

/** Why `url` may not be read, before any lookup: null when it may be (as far as its text goes). */
export function refusedUrl(url: URL): string | null {
  if (url.protocol !== "https:" && url.protocol !== "http:") return `${url.protocol} is not http(s)`;
  if (url.port) return `port ${url.port} refused: only the default port of ${url.protocol}`;
  if (url.username || url.password) return "credentials in the URL refused";
  if (LOCAL_NAME.test(url.hostname.replace(/\.$/, ""))) return `${url.hostname} is a local name: refused`;
  return null;
}

/** The bytes of a socket, read a piece at a time, with what was read but not yet used kept back. */
class Incoming {
  private buffer = new Uint8Array(0);
  private readonly chunks: AsyncIterator<Uint8Array>;
  constructor(socket: Socket) {
    this.chunks = socket[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    const { done, value } = await this.chunks.next();
    if (done) return false;
    const joined = new Uint8Array(this.buffer.length + value.length);
    joined.set(this.buffer);
    joined.set(value, this.buffer.length);
    this.buffer = joined;
    return true;
  }

  /** One line without its CRLF; throws past `max` bytes or at the end. */
  async line(max: number): Promise<string> {
    let from = 0;
    for (;;) {
      const lf = this.buffer.indexOf(10, from);
      if (lf >= 0) {
        const line = new TextDecoder("latin1").decode(this.buffer.subarray(0, lf)).replace(/\r$/, "");
        this.buffer = this.buffer.subarray(lf + 1);
        return line;
      }
      from = this.buffer.length;
      if (from > max) throw new Error("malformed response: header line too long");
      if (!(await this.fill())) throw new Error("connection closed before the response was complete");
    }
  }

  /** Up to `max` bytes (at least one); empty at the end of the stream. */
  async some(max = Infinity): Promise<Uint8Array> {
    if (!this.buffer.length && !(await this.fill())) return new Uint8Array(0);
    const out = this.buffer.subarray(0, Math.min(max, this.buffer.length));
    this.buffer = this.buffer.subarray(out.length);
    return out;
  }
}

async function* contentLength(incoming: Incoming, length: number) {
  if (!Number.isSafeInteger(length) || length < 0) throw new Error("malformed response: bad content-length");
  for (let left = length; left > 0;) {
    const piece = await incoming.some(left);
    if (!piece.length) throw new Error("connection closed before the body was complete");
    left -= piece.length;
    yield piece;
  }
}

async function* untilClose(incoming: Incoming) {
  for (let piece = await incoming.some(); piece.length; piece = await incoming.some()) yield piece;
}

async function* chunked(incoming: Incoming) {
  for (;;) {
    const size = parseInt((await incoming.line(1024)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error("malformed chunked body");
    if (size === 0) return; // trailers are not read: the connection is closed anyway
    yield* contentLength(incoming, size);
    await incoming.line(2);
  }
}

/** Status line and headers; 1xx interim answers are skipped. */
async function readHead(incoming: Incoming): Promise<{ status: number; headers: Headers }> {
  for (;;) {
    const statusLine = await incoming.line(MAX_HEADER_BYTES);
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
    if (!status) throw new Error("malformed response: not HTTP/1.x");
    const headers = new Headers();
    for (let size = 0, line = await incoming.line(MAX_HEADER_BYTES); line; line = await incoming.line(MAX_HEADER_BYTES)) {
      size += line.length;
      if (size > MAX_HEADER_BYTES) throw new Error("malformed response: headers too large");
      const colon = line.indexOf(":");
      try {
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch {
        throw new Error("malformed response header");
      }
    }
    if (Number(status[1]) >= 200) return { status: Number(status[1]), headers };
  }
}

const DECODERS: Record<string, "gzip" | "deflate"> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" };

/**
 * GET `url` through `network`, refusing what refusedUrl refuses and any host with an address the
 * network does not allow. The body comes decoded (gzip, deflate), as fetch would give it: the
 * caller's byte cap applies to decoded bytes, so a compression bomb stops there too.
 */
export async function siteGet(url: URL, network: SiteNetwork, init: { headers: Record<string, string>; signal: AbortSignal }): Promise<Response> {
  const refused = refusedUrl(url);
  if (refused) throw new Error(refused);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  init.signal.throwIfAborted();
  // a lookup cannot be cancelled, but the timeout and the deadline must not wait for it
  const aborted = () => new Promise<never>((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason), { once: true }));
  const addresses = isIP(host) ? [host] : await Promise.race([network.resolve(host), aborted()]);
  if (!addresses.length) throw new Error(`${host} has no address`);
  const blocked = addresses.find((a) => !network.allows(a));
  if (blocked) throw new Error(`${host} resolves to ${blocked}, not a public address: refused`);

  const socket = network.connect(addresses[0], url);
  const abort = () => socket.destroy(init.signal.reason);
  init.signal.addEventListener("abort", abort, { once: true });
  const done = () => {
    init.signal.removeEventListener("abort", abort);
    socket.destroy();
  };
  try {
    if (socket.connecting) await once(socket, url.protocol === "https:" && "encrypted" in socket ? "secureConnect" : "connect");
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, "Connection: close", "Accept-Encoding: gzip, deflate"];
    for (const [name, value] of Object.entries(init.headers)) lines.push(`${name}: ${value}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    const incoming = new Incoming(socket);
    const { status, headers } = await readHead(incoming);
    if (status > 599) throw new Error(`malformed response: status ${status}`);
    const encoding = (headers.get("content-encoding") ?? "identity").trim().toLowerCase();
    if (encoding !== "identity" && !DECODERS[encoding]) throw new Error(`content-encoding ${encoding} not supported`);
    const length = headers.get("content-length");
    const pieces = /\bchunked\b/i.test(headers.get("transfer-encoding") ?? "") ? chunked(incoming)
      : length !== null ? contentLength(incoming, /^\d+$/.test(length.trim()) ? Number(length) : NaN)
      : untilClose(incoming);
    if ([204, 205, 304].includes(status)) {
      done();
      return new Response(null, { status, headers });
    }
    let body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done: end, value } = await pieces.next();
          if (end) {
            controller.close();
            done();
          } else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
          done();
        }
      },
      cancel: done,
    });
    if (encoding !== "identity") body = body.pipeThrough(new DecompressionStream(DECODERS[encoding]));
    return new Response(body, { status, headers });
  } catch (error) {
    done();
    throw init.signal.aborted ? init.signal.reason : error;
  }
}

/**
 * A network on which every company site is the one server at `baseUrl` (plain HTTP on its port):
 * how a local run reads sites served on this machine (PM_LEADS_SITE_BASE_URL). The only address it
 * allows is that server's, so the SSRF guard stays on for everything else.
 */
export function networkVia(baseUrl: string): SiteNetwork {
  const base = new URL(baseUrl);
  const address = base.hostname.replace(/^\[|\]$/g, "");
  if (!isIP(address)) throw new Error(`PM_LEADS_SITE_BASE_URL must name an IP address (e.g. http://127.0.0.1:8080), not ${base.hostname}`);
  const port = Number(base.port || 80);
  return {
    resolve: () => Promise.resolve([address]),
    allows: (a) => a === address,
    connect: (a) => tcpConnect({ host: a, port }),
  };
}
