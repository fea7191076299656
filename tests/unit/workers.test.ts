import { describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { isPersonName, leadListWorker } from "../../shared/pipeline/workers.ts";
import { NO_FAULTS, OfflineProvider, offlineSiteVerifier } from "../../shared/providers/offline/provider.ts";
import { workerConfig } from "../../shared/worker/config.ts";
import { Worker, type WorkerKind } from "../../shared/worker/runtime.ts";
import { isVendorHost } from "../../shared/pms/detector.ts";

describe("what the workers refuse from a provider", () => {
  it.each(["Maria Delgado", "José Luis Ortega", "Mary-Kate O'Neil"])("accepts the person %s", (name) => {
    expect(isPersonName(name)).toBe(true);
  });

  it.each(["John Doe", "N/A", "Unknown", "Owner", "the owner", "Maria", "info@acme.example", "Agent 007", "Not listed"])(
    "refuses the placeholder %j",
    (name) => expect(isPersonName(name)).toBe(false),
  );

  it("never takes a portal or vendor host for a company's own domain", () => {
    expect(isVendorHost("acme.managebuilding.com")).toBe(true);
    expect(isVendorHost("acme.appfolio.com")).toBe(true);
    expect(isVendorHost("buildium.com")).toBe(true);
    expect(isVendorHost("acme-property.example")).toBe(false);
  });
});

describe("the worker's time budget", () => {
  const config = workerConfig({ WORKER_TIME_BUDGET_SECONDS: "60", WORKER_MIN_TASK_SECONDS: "10" });
  const provider = new OfflineProvider({ ...NO_FAULTS, timeoutMs: 90_000 });
  const make = (kind: WorkerKind) =>
    new Worker({ sql: {} as Sql, kind, tools: { provider, verifier: offlineSiteVerifier }, config, workerId: "w" });

  it("refuses a budget shorter than one task may take (the provider's timeout), naming the settings", () => {
    expect(() => make(leadListWorker)).toThrow(/WORKER_TIME_BUDGET_SECONDS \(60\) is shorter than one lead_list task may take \(90 s/);
  });
});
