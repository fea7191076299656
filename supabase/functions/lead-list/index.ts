// Worker for the queue's lead_list tasks: its wiring is shared/functions/lead-list.ts.
import { serveLeadList } from "../../../shared/functions/lead-list.ts";

serveLeadList();
