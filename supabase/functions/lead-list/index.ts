// Worker for the queue's lead_list tasks: all logic lives in shared/ (worker runtime, pipeline).
import { serveWorker } from "../../../shared/edge/worker-function.ts";
import { leadListWorker } from "../../../shared/pipeline/workers.ts";

serveWorker("lead-list", leadListWorker);
