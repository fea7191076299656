// A local web server that plays many small company websites at once, for the PMS detector's tests and
// bench. The detector is given `server.network`, on which every host name resolves to 127.0.0.1 and
// every connection goes to this server (plain HTTP); the server picks the site by the Host header
// (www. or not) and logs every request, so tests can check what was (not) fetched and when.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import type { PmsConfidence as Confidence } from "../../shared/domain/schemas.ts";
import type { SiteNetwork } from "../../shared/pms/crawler/safe-get.ts";

/** How a path misbehaves: a status code, a dropped connection, no answer, or a big body. */
export type Failure =
  | number
  | "reset" // the connection is dropped before any answer
  | "hang" // headers never come
  | "hang-body" // headers and a first chunk, then nothing
  | "gzip" // the page, gzipped
  | "garbage" // bytes that are not HTTP
  | { padBefore: number } // this many filler bytes, then the page
  | { gzipBomb: number }; // this many zero bytes, gzipped (about 1000:1)

export interface SiteSpec {
  /** bodies by path: "/", "/residents", "/robots.txt" (robots.txt is text/plain, the rest HTML) */
  files: Record<string, string>;
  /** by path, or by "host/path" for one host only (e.g. the apex redirecting to www.) */
  redirects?: Record<string, { status?: number; location: string }>;
  failures?: Record<string, Failure>;
}

export interface FixtureSite extends SiteSpec {
  name: string;
  domain: string;
  /** the company whose site it is: its homepage's title without the fixture mark (null: no homepage) */
  company: string | null;
  expected: { pms: string | null; confidence: Confidence };
}

export interface LoggedRequest {
  host: string;
  path: string;
  userAgent: string;
  method: string;
  /** performance.now() when the request arrived */
  at: number;
  /** no site of that host: the detector asked for a host it must not */
  foreign: boolean;
}

export interface SiteServer {
  port: number;
  /**
   * The detector's network for tests: every name resolves to 127.0.0.1, that address alone is
   * allowed (the explicit test allowance; production allows no loopback), connections go to this
   * server's port. The addresses connected to are logged in `connections`.
   */
  network: SiteNetwork;
  connections: string[];
  requests: LoggedRequest[];
  /** bytes written for each padded (big) response, by "host/path" */
  bytesSent: Map<string, number>;
  /** the padded responses that ended (sent whole, or cut off by the client), by "host/path" */
  ended: Set<string>;
  close(): Promise<void>;
}

export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/pms-sites/", import.meta.url));

const siteKey = (host: string) => host.toLowerCase().replace(/:\d+$/, "").replace(/^www\./, "");
const normalPath = (path: string) => path.replace(/\/+$/, "") || "/";

/** index.html → "/", residents.html → "/residents", owners/portal.html → "/owners/portal", robots.txt as is. */
function filePath(file: string): string {
  const path = "/" + file.split(sep).join("/");
  if (path.endsWith(".txt")) return path;
  return normalPath(path.replace(/\.html$/, "").replace(/(^|\/)index$/, "/"));
}

function readTree(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? readTree(full, root) : [relative(root, full)];
  });
}

/** The sites under tests/fixtures/pms-sites/<name>/, each served as <name>.example. */
export function loadFixtureSites(dir = FIXTURE_DIR): FixtureSite[] {
  return readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory()).sort().map((name) => {
    const site = join(dir, name);
    const files: Record<string, string> = {};
    for (const file of readTree(site)) {
      if (file.endsWith(".html") || file.endsWith(".txt")) files[filePath(file)] = readFileSync(join(site, file), "utf8");
    }
    const server = existsSync(join(site, "_server.json")) ? JSON.parse(readFileSync(join(site, "_server.json"), "utf8")) : {};
    const expected = JSON.parse(readFileSync(join(site, "expected.json"), "utf8"));
    const title = /<title>([^<]*)<\/title>/i.exec(files["/"] ?? "")?.[1].replace(/\[synthetic fixture\]/i, "").trim();
    return { name, domain: `${name}.example`, company: title || null, files, redirects: server.redirects, failures: server.failures, expected };
  });
}

function serve(site: SiteSpec, host: string, path: string, req: IncomingMessage, res: ServerResponse, bytesSent: Map<string, number>, ended: Set<string>) {
  const failure = site.failures?.[path];
  const redirect = site.redirects?.[`${host}${path}`] ?? site.redirects?.[path];
  const body = site.files[path];
  const type = path.endsWith(".txt") ? "text/plain; charset=utf-8" : "text/html; charset=utf-8";
  if (failure === "reset") return req.socket.destroy();
  if (failure === "garbage") return void req.socket.end(Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 256)));
  if (failure === "gzip") return void res.writeHead(200, { "content-type": type, "content-encoding": "gzip" }).end(gzipSync(body ?? ""));
  if (failure === "hang") return; // the client's timeout must end it
  if (failure === "hang-body") {
    res.writeHead(200, { "content-type": type });
    return void res.write("<html><body><p>Loading");
  }
  if (typeof failure === "number") return void res.writeHead(failure, { "content-type": "text/plain" }).end(`status ${failure}`);
  if (failure && typeof failure === "object" && "gzipBomb" in failure) {
    return void res.writeHead(200, { "content-type": type, "content-encoding": "gzip" }).end(gzipSync(Buffer.alloc(failure.gzipBomb)));
  }
  if (failure && typeof failure === "object") return padded(failure.padBefore, body ?? "", `${host}${path}`, res, bytesSent, ended);
  if (redirect) return void res.writeHead(redirect.status ?? 302, { location: redirect.location }).end();
  if (body === undefined) return void res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not found</h1>");
  res.writeHead(200, { "content-type": type }).end(body);
}

/** Streams `padding` bytes of filler HTML, then `body`, counting what was written before the client gave up. */
function padded(padding: number, body: string, key: string, res: ServerResponse, bytesSent: Map<string, number>, ended: Set<string>) {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  const chunk = `<p>${"filler ".repeat(2300)}</p>\n`; // ~16 KiB
  let sent = 0;
  const pump = () => {
    while (sent < padding) {
      if (res.destroyed) return;
      sent += chunk.length; // ASCII: characters are bytes
      bytesSent.set(key, sent);
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    res.end(body);
  };
  res.on("close", () => {
    bytesSent.set(key, sent);
    ended.add(key);
  });
  pump();
}

export async function startSiteServer(sites: Record<string, SiteSpec> | FixtureSite[]): Promise<SiteServer> {
  const byDomain = new Map<string, SiteSpec>(
    Array.isArray(sites) ? sites.map((s) => [s.domain, s]) : Object.entries(sites).map(([d, s]) => [siteKey(d), s]),
  );
  const requests: LoggedRequest[] = [];
  const bytesSent = new Map<string, number>();
  const ended = new Set<string>();
  const server: Server = createServer((req, res) => {
    const host = String(req.headers["x-site-host"] ?? req.headers.host ?? "").toLowerCase();
    const path = normalPath(new URL(req.url ?? "/", "http://local").pathname);
    const site = byDomain.get(siteKey(host));
    requests.push({ host, path, userAgent: String(req.headers["user-agent"] ?? ""), method: req.method ?? "", at: performance.now(), foreign: !site });
    if (!site) return void res.writeHead(502, { "content-type": "text/plain" }).end(`no site ${host} here`);
    serve(site, host, path, req, res, bytesSent, ended);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const connections: string[] = [];
  const network: SiteNetwork = {
    resolve: () => Promise.resolve(["127.0.0.1"]),
    allows: (address) => address === "127.0.0.1",
    connect: (address) => {
      connections.push(address);
      return connect({ host: address, port });
    },
  };
  return {
    port,
    network,
    connections,
    requests,
    bytesSent,
    ended,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections(); // hanging requests included
      server.close(() => resolve());
    }),
  };
}
