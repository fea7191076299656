// Whether a worker LISTENs for task-ready notifications: WORKER_LISTEN, and on auto the connection.
import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { workerConfig } from "../../shared/worker/config.ts";
import { listenDecision } from "../../shared/worker/wake.ts";

// parsing a URL connects to nothing
const on = (url: string) => postgres(url);

describe("LISTEN or poll", () => {
  it("auto listens on a direct connection and the session pooler, not through the transaction pooler (6543)", () => {
    expect(listenDecision("auto", on("postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres")).listen).toBe(true);
    expect(listenDecision("auto", on("postgresql://postgres.abcdefgh:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres")).listen).toBe(true);
    const pooled = listenDecision("auto", on("postgresql://postgres.abcdefgh:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"));
    expect(pooled).toEqual({ listen: false, why: expect.stringMatching(/transaction-mode pooler \(port 6543\)/) });
  });

  it("on and off are obeyed whatever the connection", () => {
    expect(listenDecision("on", on("postgresql://u:p@pooler.example:6543/db")).listen).toBe(true);
    expect(listenDecision("off", on("postgresql://u:p@localhost:5432/db"))).toEqual({ listen: false, why: "WORKER_LISTEN=off" });
  });

  it("the settings: auto and 5 s of lingering by default; anything else is refused by name", () => {
    expect(workerConfig({})).toMatchObject({ listen: "auto", lingerSeconds: 5 });
    expect(workerConfig({ WORKER_LISTEN: "off", WORKER_LINGER_SECONDS: "0" })).toMatchObject({ listen: "off", lingerSeconds: 0 });
    expect(() => workerConfig({ WORKER_LISTEN: "yes" })).toThrow(/WORKER_LISTEN/);
    expect(() => workerConfig({ WORKER_LINGER_SECONDS: "-1" })).toThrow(/WORKER_LINGER_SECONDS/);
  });
});
