#!/usr/bin/env node
// The pm-leads command: runs cli/pm-leads.ts through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../cli/pm-leads.ts");
