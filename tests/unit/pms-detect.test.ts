import { describe, expect, it } from "vitest";
import { detectPms } from "../../shared/pms/detector/evidence.ts";
import { classifyVendorUrl, PMS_VENDORS, vendorByName } from "../../shared/domain/pms-vendors.ts";

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

  it("takes vendor-generic hosts and footer credits as weak evidence: medium for one vendor, low for two", () => {
    const generic = site('<a href="https://signin.managebuilding.com/Resident/portal/global-login">Tenant login</a>', "<p>Contact</p>");
    expect(detectPms(generic)).toEqual({ pms: "Buildium", confidence: "medium", evidence_urls: ["https://signin.managebuilding.com/Resident/portal/global-login"] });
    const two = site(
      '<a href="https://signin.managebuilding.com/manager/public/authentication/login">Manager login</a>',
      '<footer>Website powered by <a href="https://www.appfolio.com/">AppFolio</a></footer><a href="https://help.appfolio.com/">help</a>',
    );
    expect(detectPms(two)).toMatchObject({ pms: "AppFolio", confidence: "low" });
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

describe("the rules of issue 14: generic evidence is medium at most, company-specific evidence in any form is high", () => {
  const link = (href: string, text = "Resident Login") => `<a href="${href.replace(/&/g, "&amp;")}">${text}</a>`;
  const detect = (...links: string[]) => detectPms(site(links.join(" "), "<p>Contact</p>"));

  it("never says high from a vendor's own hosts: its shared login, marketing site, help or CDN", () => {
    for (const vendor of PMS_VENDORS) {
      for (const domain of vendor.domains) {
        for (const host of [domain, `www.${domain}`, `signin.${domain}`, `login.${domain}`, `help.${domain}`, `my.${domain}`, `cdn.${domain}`]) {
          const result = detect(link(`https://${host}/Resident/portal/global-login`));
          expect([host, result]).toEqual([host, { pms: vendor.name, confidence: "medium", evidence_urls: [`https://${host}/Resident/portal/global-login`] }]);
        }
      }
    }
  });

  it.each([
    ["Yardi: the property in a query parameter of the shared RentCafe host", "https://www.rentcafe.com/residentservices/apartmentsforrent/userregistration.aspx?propertyid=MTQwODgwMQ%3d%3d", "Yardi"],
    ["Propertyware: the customer's website ids", "https://webreq.propertyware.com/pw/marketing/website.do?sid=39944208&wid=39485458&action=l", "Propertyware"],
  ])("a company id in a query string of the vendor's host is high (%s)", (_name, url, pms) => {
    expect(detect(link(url))).toMatchObject({ pms, confidence: "high" });
    const bare = new URL(url);
    bare.search = "";
    expect(detect(link(bare.href))).toMatchObject({ pms, confidence: "medium" });
    const empty = new URL(url);
    for (const name of [...empty.searchParams.keys()]) empty.searchParams.set(name, "");
    expect(detect(link(empty.href))).toMatchObject({ pms, confidence: "medium" });
  });

  it.each([
    ["https://www.rentcafe.com/residentservices/willow-park/userlogin.aspx", "high"],
    ["https://www.rentcafe.com/residentservices/apartmentsforrent/userlogin.aspx", "medium"],
    ["https://app.propertyware.com/pw/portals/granitehomes/owner.action", "high"],
    ["https://app.propertyware.com/pw/login.jsp", "medium"],
    ["https://app.propertyware.com/pw/portals/", "medium"],
    ["https://webreq.propertyware.com/pw/marketing/website.do", "medium"],
    ["https://oakbrook.residentportal.com/auth", "high"],
    ["https://www.residentportal.com/", "medium"],
    ["https://elan.activebuilding.com/", "high"],
    ["https://login.activebuilding.com/auth/login", "medium"],
    ["https://lime.mriresidentconnect.com/", "high"],
    ["https://tenant.rentredi.com/getStarted", "medium"],
    ["https://rental.turbotenant.com/owners/dashboard", "medium"],
    ["https://rental.turbotenant.com/p/storrs-ave-utica-ny/296545", "high"],
    ["https://rental.turbotenant.com/embedpropertylist.html#/QmFzaWNVc2VyUHJvZmlsZTo4MDQ3MDY=", "high"],
    ["https://rental.turbotenant.com/embedpropertylist.html", "medium"],
    ["https://my.innago.com/l/9183Iw6DXBS", "high"],
    ["https://my.innago.com/", "medium"],
  ])("a path segment or subdomain names the customer, a shared one does not: %s is %s", (url, confidence) => {
    expect(detect(link(url)).confidence).toBe(confidence);
  });

  it("a portal beside another vendor's shared login is low (two systems); beside its credit, high", () => {
    const portal = link("https://acme.appfolio.com/connect/users/sign_in", "Tenant Login");
    expect(detect(portal, link("https://www.rentcafe.com/residentservices/apartmentsforrent/userlogin.aspx", "Residents of the Towers")))
      .toMatchObject({ pms: "AppFolio", confidence: "low" });
    expect(detect(portal, '<footer>Website powered by <a href="https://www.buildium.com/">Buildium</a></footer>'))
      .toMatchObject({ pms: "AppFolio", confidence: "high" });
    expect(detect(portal, link("https://signin.appfolio.com/", "Login"))).toMatchObject({ pms: "AppFolio", confidence: "high" });
  });

  it("a vendor URL carried in a link's query is evidence like the link", () => {
    expect(detect(link("/redirect?url=https%3A%2F%2Flime.mriresidentconnect.com", "Access account")))
      .toEqual({ pms: "MRI Software", confidence: "high", evidence_urls: ["https://lime.mriresidentconnect.com/"] });
  });

  it("names that are common words count only in their own form", () => {
    expect(detectPms(site("<p>Owners can avail themselves of statements, to no avail.</p>", "<p>x</p>"))).toMatchObject({ pms: null, confidence: "none" });
    expect(detectPms(site("<p>Renters apply on Avail.co.</p>", "<p>x</p>"))).toMatchObject({ pms: "Avail", confidence: "medium" });
    expect(detectPms(site("<p>Our MRI machine is new.</p>", "<p>x</p>"))).toMatchObject({ confidence: "none" });
    expect(detectPms(site("<p>An active building with a gym.</p>", "<p>x</p>"))).toMatchObject({ confidence: "none" });
    expect(detectPms(site("<p>Residents use ActiveBuilding.</p>", "<p>x</p>"))).toMatchObject({ pms: "RealPage", confidence: "medium" });
  });

  it("classifies a vendor's own subdomains as generic, a customer's as portal", () => {
    const kind = (url: string) => classifyVendorUrl(new URL(url))?.kind ?? null;
    expect([kind("https://acme.managebuilding.com/"), kind("https://signin.managebuilding.com/"), kind("https://www.buildium.com/")])
      .toEqual(["portal", "generic", "generic"]);
    expect([kind("https://webreq.propertyware.com/"), kind("https://acme.propertyware.com/"), kind("https://example.com/")])
      .toEqual(["generic", "portal", null]);
    expect([kind("https://images.cdn.appfolio.com/x.jpg"), kind("https://demo2.appfolio.com/")]).toEqual(["generic", "generic"]);
  });
});

describe("hostile pages", () => {
  const portal = '<a href="https://acmepm.managebuilding.com/Resident/portal/login">Residents</a>';
  const KIB_512 = 512 * 1024;
  const fill = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length));

  it.each([
    ["nested <div>s, then stray </span>s", fill("<div>", KIB_512 / 2) + fill("</span>", KIB_512 / 2)],
    ["nested <b>s, then stray </i>s", fill("<b>", KIB_512 / 2) + fill("</i>", KIB_512 / 2)],
    ["nested <footer>s, then their closers", fill("<footer>", KIB_512 / 2) + fill("</footer>", KIB_512 / 2)],
  ])("a 512 KiB page of %s is read in linear time, and a link after it still counts", (_name, junk) => {
    const started = performance.now();
    // a generous bound: the old tokenizer took minutes here; this is to fail, not to time
    expect(detectPms(site(junk + portal, "<p>Contact</p>"))).toMatchObject({ pms: "Buildium", confidence: "high" });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("decodes every named entity, in links and in text", () => {
    const obfuscated = '<a href="https:&sol;&sol;acmepm&period;appfolio&period;com&sol;connect">Tenant login</a>';
    expect(detectPms(site(obfuscated, "<p>Contact</p>"))).toMatchObject({ pms: "AppFolio", confidence: "high" });
    expect(detectPms(site("<p>Owners log in with Rent&NewLine;Manager&excl;</p>", "<p>x</p>")))
      .toMatchObject({ pms: "Rent Manager", confidence: "medium" });
  });

  it("binary bytes, broken markup and odd link schemes are ignored, never a crash", () => {
    const garbage = String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) % 65536));
    const odd = ["javascript:alert(1)", "data:text/html,<a>", "file:///etc/passwd", "mailto:x@y", "http://[::1", "https://acme.example:99999/",
      "//", "\u0000", "&#0;", "&#x110000;", "https://acmepm.appfolio.com\u0000/"].map((u) => `<a href="${u}">Residents</a>`).join("");
    const result = detectPms(site(garbage + odd + "<a <b </ <!-- <![CDATA[ <?x", "<p>x</p>"));
    expect(result.confidence).not.toBe("high");
  });
});
