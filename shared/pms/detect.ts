// Kept only for tests/helpers/site-server.ts, which the test-infrastructure work owns: the detector
// is detector/evidence.ts now. Delete this file once that helper imports PmsConfidence from
// shared/domain/schemas.ts.
export type { PmsConfidence as Confidence } from "../domain/schemas.ts";
