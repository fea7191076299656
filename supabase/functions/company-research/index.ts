// Worker for the queue's company_research tasks: all logic lives in shared/ (worker runtime, pipeline).
import { serveWorker } from "../../../shared/edge/worker-function.ts";
import { companyResearchWorker } from "../../../shared/pipeline/workers.ts";

serveWorker("company-research", companyResearchWorker);
