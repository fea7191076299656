// The states and reason codes of shared/domain/states.ts are the SQL enums' values, in their order:
// a value added on one side only fails here, not in a worker or a screen.
import { afterAll, describe, expect, it } from "vitest";
import { CompanyReason, CompanyStatus, DecisionReason, RunStage, RunStatus, TaskState } from "../../shared/domain/states.ts";
import { connect } from "../helpers/db.ts";

describe("shared/domain/states.ts and the SQL enums", () => {
  const sql = connect();
  afterAll(() => sql.end());

  it.each([
    ["run_status", RunStatus.options], ["run_stage", RunStage.options], ["company_status", CompanyStatus.options],
    ["task_state", TaskState.options], ["decision_reason", DecisionReason.options], ["company_reason", CompanyReason.options],
  ])("pm_pipeline.%s", async (type, values) => {
    const [row] = await sql`select enum_range(null::pm_pipeline.${sql(type)})::text[] as values`;
    expect(row.values).toEqual(values);
  });
});
