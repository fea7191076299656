// The lead-list function: discovers companies for a run with the research provider.
import { leadListWorker } from "../pipeline/research-kinds.ts";
import { serveResearchWorker } from "./research-worker.ts";

export const serveLeadList = (): void => serveResearchWorker("lead-list", leadListWorker, (provider) => ({ provider }));
