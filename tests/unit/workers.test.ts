import { describe, expect, it } from "vitest";
import { isPersonName } from "../../shared/pipeline/workers.ts";
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
