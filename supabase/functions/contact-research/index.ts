// Worker for the queue's contact_research tasks: its wiring is shared/functions/contact-research.ts.
import { serveContactResearch } from "../../../shared/functions/contact-research.ts";

serveContactResearch();
