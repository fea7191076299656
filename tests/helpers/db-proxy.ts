// A TCP relay on loopback between a functions host and Postgres that a test can take down (open
// connections cut, new ones refused) and bring back: the database "stopped briefly" as its
// clients see it, without stopping the cluster that other test files share.
import { createServer, connect as connectTcp, type Server, type Socket } from "node:net";
import { databaseUrl } from "../../scripts/lib/stack-env.ts";

export interface DbProxy {
  /** the database URL, through the relay */
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startDbProxy(target = new URL(databaseUrl())): Promise<DbProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  let server: Server;
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    server = createServer((client) => {
      const upstream = connectTcp(Number(target.port || 5432), target.hostname);
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
  const port = await listen(0);
  const down = () => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
  // idempotent: a test may call it at every retry it sees
  const up = async () => {
    if (!server.listening) await listen(port);
  };
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return { url: url.toString(), down, up, close: down };
}
