import { describe, expect, it } from "vitest";
import { redact, redactUrlPaths, rememberSecrets } from "../../shared/secrets/redact.ts";

describe("redact", () => {
  it("removes OpenAI keys, masked ones too, and bearer tokens", () => {
    expect(redact("Incorrect API key provided: sk-proj-abc1****************wxyz. You can find")).toBe("Incorrect API key provided: sk-[redacted]. You can find");
    expect(redact("sent Authorization: Bearer eyJhbGciOi.J9x_y-z, then")).toBe("sent Authorization: Bearer [redacted], then");
    expect(redact("postgres://pm:hunter2secret@db.example:5432/postgres")).toBe("postgres://[redacted]@db.example:5432/postgres");
    expect(redact("Basic information: bearer of bad news")).toBe("Basic information: bearer of bad news");
  });

  it("removes the remembered values of secret-named settings, and of a URL what follows its host", () => {
    rememberSecrets({ PM_LEADS_WORKER_SECRET: "w0rker-secret-value", ALERT_WEBHOOK_URL: "https://hooks.example/services/T0/B0/XyZ", REGION: "us-east-1-long-value" });
    expect(redact("secret w0rker-secret-value in use")).toBe("secret [redacted] in use");
    expect(redact("posting to https://hooks.example/services/T0/B0/XyZ failed")).toBe("posting to https://hooks.example[redacted] failed");
    expect(redact("region us-east-1-long-value")).toBe("region us-east-1-long-value");
    rememberSecrets({ SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:5432/postgres" });
    expect(redact("postgres.js: connection to postgres refused")).toBe("postgres.js: connection to postgres refused");
  });

  it("keeps only the scheme and host of every URL in a receiver's error", () => {
    expect(redactUrlPaths("error sending request for url (http://127.0.0.1:4000/hooks/abc?token=t0k): refused"))
      .toBe("error sending request for url (http://127.0.0.1:4000/[redacted]): refused");
    expect(redactUrlPaths("email answered 400: no route https://mail.example?key=k3y")).toBe("email answered 400: no route https://mail.example/[redacted]");
  });
});
