// Releases dead workers' leases, dispatches waiting work and reports worker and queue health.
import { serveMonitor } from "../../../shared/edge/monitor-function.ts";

serveMonitor();
