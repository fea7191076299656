import { describe, expect, it } from "vitest";
import { detectPms } from "../../shared/pms/detect.ts";
import { vendorByName } from "../../shared/pms/vendors.ts";

const site = (...bodies: string[]) => bodies.map((html, i) => ({ url: `https://acme-pm.example/${i ? "residents" : ""}`, html }));

describe("PMS detection from a company's own pages", () => {
  it.each([
    ["Buildium", '<a href="https://acmepm.managebuilding.com/Resident/portal/login">Pay rent</a>'],
    ["AppFolio", '<a href="https://acmepm.appfolio.com/connect/users/sign_in">Tenant login</a>'],
    ["AppFolio", '<script src="https://widgets.appfolio.com/listings/acme.js"></script>'],
    ["Rentvine", '<a href="https://acme.rentvine.com/portals/resident">Residents</a>'],
    ["Propertyware", '<a href="https://app.propertyware.com/pw/portals/acme/tenant.action">Login</a>'],
    ["Rent Manager", '<a href="https://acme.rmresident.com/">Residents</a>'],
    ["DoorLoop", '<a href="https://acme.app.doorloop.com/tenant-portal/login">Portal</a>'],
    ["TenantCloud", '<a href="https://acme.tenantcloud.com/listings">Listings</a>'],
    ["Yardi", '<a href="https://acme.securecafe.com/residentservices/acme/userlogin.aspx">Login</a>'],
  ])("finds %s from a portal link, with high confidence", (pms, link) => {
    expect(detectPms(site("<p>Welcome</p>", link))).toMatchObject({ pms, confidence: "high" });
  });

  it("ignores vendor-generic hosts and footer credits", () => {
    const pages = site(
      '<a href="https://signin.managebuilding.com/manager/public/authentication/login">Manager login</a>',
      '<footer>Website powered by <a href="https://www.appfolio.com/">AppFolio</a></footer><a href="https://help.appfolio.com/">help</a>',
    );
    expect(detectPms(pages)).toEqual({ pms: null, confidence: "none", evidence_urls: [] });
  });

  it("two vendors linked (a migration) is low confidence", () => {
    const pages = site('<a href="https://acme.managebuilding.com/Resident/portal/login">old</a>',
      '<a href="https://acme.appfolio.com/connect/users/sign_in">new</a>');
    expect(detectPms(pages).confidence).toBe("low");
  });

  it("a vendor named only in the text is medium; nothing fetched is unknown", () => {
    expect(detectPms(site("<p>We use Buildium for owner statements.</p>", "<p>Contact</p>")).confidence).toBe("medium");
    expect(detectPms([])).toEqual({ pms: null, confidence: "unknown", evidence_urls: [] });
  });

  it("knows the names users type", () => {
    expect(vendorByName("app folio")?.name).toBe("AppFolio");
    expect(vendorByName("RentCafe")?.name).toBe("Yardi");
    expect(vendorByName("Some Other PMS")).toBeNull();
  });
});
