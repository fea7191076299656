// The run API: create, watch, decide, export and suppress (routes in shared/api/routes.ts).
import { serveRunApi } from "../../../shared/api/server.ts";

serveRunApi();
