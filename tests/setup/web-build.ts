// vitest global setup of the browser tests: the web app is built from the sources under test
// (web/dist, which the functions host serves at /app/), never an old build.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function buildWeb() {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  execFileSync(`${root}node_modules/.bin/vite`, ["build", "web", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
}
