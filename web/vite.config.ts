// The web app's build: `vite build web` (npm run web:build) writes web/dist, which the local
// functions host serves at /app/ and any static host can serve as it is (hash routes: no rewrites).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/app/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  // the app imports the API's types and two small tables (vendors, states) from ../shared
  server: {
    fs: { allow: [repo] },
    // web:dev: the API of the local stack, proxied so the dev page is same-origin like /app/
    proxy: process.env.PM_LEADS_API_URL ? { "/functions": { target: process.env.PM_LEADS_API_URL, changeOrigin: true } } : undefined,
  },
});
