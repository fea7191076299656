import { describe, expect, it } from "vitest";
import { isConnectionError, isRolledBack, retryOnConnectionError } from "../../shared/api/connection.ts";

/** work that fails with the given errors in turn, then answers "ok" */
function failing(...errors: object[]) {
  let calls = 0;
  const work = async () => {
    const error = errors[calls++];
    if (error) throw error;
    return "ok";
  };
  return { work, calls: () => calls };
}

describe("retryOnConnectionError", () => {
  it("repeats a statement the server rolled back (deadlock, serialization), once, even when it is not repeatable", async () => {
    const deadlock = failing({ code: "40P01" });
    await expect(retryOnConnectionError(deadlock.work, 0)).resolves.toBe("ok");
    expect(deadlock.calls()).toBe(2);
    const twice = failing({ code: "40001" }, { code: "40P01" });
    await expect(retryOnConnectionError(twice.work, 0)).rejects.toMatchObject({ code: "40P01" });
    expect(twice.calls()).toBe(2);
  });

  it("repeats after a broken connection only when asked to", async () => {
    const once = failing({ code: "ECONNRESET" });
    await expect(retryOnConnectionError(once.work, 0)).rejects.toMatchObject({ code: "ECONNRESET" });
    const again = failing({ code: "57P01" });
    await expect(retryOnConnectionError(again.work, 1)).resolves.toBe("ok");
    expect(again.calls()).toBe(2);
  });

  it("never repeats a refusal of the statement itself", async () => {
    const unique = failing({ code: "23505" });
    await expect(retryOnConnectionError(unique.work, 3)).rejects.toMatchObject({ code: "23505" });
    expect(unique.calls()).toBe(1);
    expect(isRolledBack({ code: "23505" })).toBe(false);
    expect(isConnectionError({ code: "40P01" })).toBe(false);
  });
});
