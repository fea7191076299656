// Releases dead workers' leases, dispatches waiting work and reports worker and queue health.
import { serveMonitor } from "../../../shared/functions/monitor.ts";

serveMonitor();
