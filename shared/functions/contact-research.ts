// The contact-research function: finds an accepted company's decision makers with the research provider.
import { contactResearchWorker } from "../pipeline/research-kinds.ts";
import { serveResearchWorker } from "./research-worker.ts";

export const serveContactResearch = (): void => serveResearchWorker("contact-research", contactResearchWorker, (provider) => ({ provider }));
