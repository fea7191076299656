// Worker for the queue's company_research tasks: its wiring is shared/functions/company-research.ts.
import { serveCompanyResearch } from "../../../shared/functions/company-research.ts";

serveCompanyResearch();
