// The worker runtime's failure contract, and the provider errors that speak it.
import { describe, expect, it } from "vitest";
import { ProviderError, type ProviderErrorKind } from "../../shared/providers/types.ts";
import { classifyFailure, isTransient, WorkError } from "../../shared/worker/failure.ts";

describe("the failure contract", () => {
  it.each<[ProviderErrorKind, boolean, boolean]>([
    ["rate_limit", true, false],
    ["server", true, false],
    ["timeout", true, false],
    ["invalid_output", false, false], // a new answer may be better: the SQL bounds the retries
    ["invalid_input", false, true],
    ["auth", false, true],
    ["quota", false, true],
  ])("a provider's %s is transient: %s, permanent: %s", (kind, transient, permanent) => {
    const error = new ProviderError(kind, "x");
    expect(error).toBeInstanceOf(WorkError);
    expect({ transient: error.transient, permanent: error.permanent, now: isTransient(error) }).toEqual({ transient, permanent, now: transient });
    expect(classifyFailure(error)).toEqual({ retryable: !permanent, retryAfterSeconds: undefined, kind });
  });

  it("carries a retry-after, in seconds for the SQL", () => {
    expect(classifyFailure(new ProviderError("rate_limit", "429", 2500))).toEqual({ retryable: true, retryAfterSeconds: 2.5, kind: "rate_limit" });
  });

  it("any other error is a plain failure: not retried at once, retried by the SQL", () => {
    expect(isTransient(new Error("boom"))).toBe(false);
    expect(classifyFailure(new Error("boom"))).toEqual({ retryable: true, kind: "error" });
    expect(classifyFailure("a string")).toEqual({ retryable: true, kind: "error" });
  });

  it("is the runtime's own: any error class may speak it", () => {
    class Busy extends WorkError {
      readonly kind = "busy";
      readonly transient = true;
      readonly permanent = false;
      readonly retryAfterMs = 1000;
    }
    expect(isTransient(new Busy())).toBe(true);
    expect(classifyFailure(new Busy())).toEqual({ retryable: true, retryAfterSeconds: 1, kind: "busy" });
  });
});
