// Worker for the queue's contact_research tasks: all logic lives in shared/ (worker runtime, pipeline).
import { serveWorker } from "../../../shared/edge/worker-function.ts";
import { contactResearchWorker } from "../../../shared/pipeline/workers.ts";

serveWorker("contact-research", contactResearchWorker);
