import { describe, expect, it } from "vitest";
import { backoffMs, withRetry, type AttemptRecord } from "../../shared/worker/retry.ts";
import { ProviderError } from "../../shared/providers/types.ts";
import { workerConfig } from "../../shared/worker/config.ts";

const policy = { attempts: 4, baseMs: 1000, maxMs: 8000 };
const noSleep = async () => {};

describe("retries inside an invocation", () => {
  it("full jitter within 1 s, 2 s, 4 s, capped, and never below retry-after", () => {
    expect(backoffMs(policy, 1, 0, () => 0.999)).toBeLessThanOrEqual(1000);
    expect(backoffMs(policy, 2, 0, () => 0.999)).toBeLessThanOrEqual(2000);
    expect(backoffMs(policy, 3, 0, () => 0.999)).toBeLessThanOrEqual(4000);
    expect(backoffMs(policy, 9, 0, () => 0.999)).toBeLessThanOrEqual(8000);
    expect(backoffMs(policy, 1, 0, () => 0)).toBe(0);
    expect(backoffMs(policy, 1, 5000, () => 0)).toBe(5000);
  });

  it("retries transient errors and records each attempt", async () => {
    const log: AttemptRecord[] = [];
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls === 1) throw new ProviderError("rate_limit", "429", 1500);
      if (calls === 2) throw new ProviderError("server", "503");
      return "ok";
    }, { policy, signal: new AbortController().signal, log, sleep: noSleep });
    expect(result).toBe("ok");
    expect(log.map((a) => [a.attempt, a.kind])).toEqual([[1, "rate_limit"], [2, "server"]]);
    expect(log[0].waited_ms).toBeGreaterThanOrEqual(1500);
  });

  it.each(["invalid_input", "auth", "quota", "invalid_output"] as const)("never retries %s", async (kind) => {
    const log: AttemptRecord[] = [];
    let calls = 0;
    await expect(withRetry(async () => {
      calls++;
      throw new ProviderError(kind, "no");
    }, { policy, signal: new AbortController().signal, log, sleep: noSleep })).rejects.toThrow("no");
    expect(calls).toBe(1);
    expect(log).toHaveLength(1);
  });

  it("gives up after the policy's attempts", async () => {
    let calls = 0;
    await expect(withRetry(async () => {
      calls++;
      throw new ProviderError("timeout", "slow");
    }, { policy, signal: new AbortController().signal, log: [], sleep: noSleep })).rejects.toThrow("slow");
    expect(calls).toBe(4);
  });
});

describe("worker settings", () => {
  it("defaults keep a lease renewed well inside the 150 s wall clock", () => {
    const config = workerConfig({});
    expect(config).toMatchObject({ heartbeatSeconds: 10, timeBudgetSeconds: 120, leadListBatchSize: 10 });
    expect(config.retry).toEqual({ attempts: 4, baseMs: 1000, maxMs: 8000 });
  });

  it("rejects a bad value with its name", () => {
    expect(() => workerConfig({ WORKER_HEARTBEAT_INTERVAL: "soon" })).toThrow(/WORKER_HEARTBEAT_INTERVAL/);
    expect(() => workerConfig({ LEAD_LIST_BATCH_SIZE: "0" })).toThrow(/LEAD_LIST_BATCH_SIZE/);
  });
});
