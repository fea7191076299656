// What the run API answers, as the CLI reads it: the API's own types (shared/api/responses.ts),
// named as the CLI uses them.
export type {
  ApiKeyCreated, ApiKeyList, ApiKeyRevoked, Criteria, DecisionKind as Decision, Progress, Run, RunEvent, RunList, RunStatus, SuppressionAdded, SuppressionList, SuppressionRemoved, Workers,
} from "../shared/api/responses.ts";
