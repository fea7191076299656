// Kept only for tests/helpers/site-server.ts, which the test-infrastructure work owns: the crawler's
// safe GET is crawler/safe-get.ts now. Delete this file once that helper imports SiteNetwork from there.
export type { SiteNetwork } from "./crawler/safe-get.ts";
