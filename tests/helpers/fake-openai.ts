// A local stand-in for the OpenAI Responses API (POST /v1/responses) on 127.0.0.1 and a random port,
// for tests without a network or a key. It answers like the real API (response object, usage, headers,
// error bodies, in the shapes of the official OpenAPI schemas: tests/unit/openai-spec.test.ts checks them
// against ../shared/reference/openai-openapi-responses.json) and is scripted per test: `reply(...)` queues the next answers in order; with none
// queued it gives a realistic answer for the request's schema (text.format.name). It records every
// request it got.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { rng } from "../../shared/providers/offline/world.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

export interface FakeReply {
  /** HTTP status, 200 unless given */
  status?: number;
  headers?: Record<string, string>;
  /** a JSON body */
  body?: unknown;
  /** a body as it is (wins over body) */
  raw?: string;
  /** never answer (the connection stays open until the client gives up or the server closes) */
  hang?: boolean;
  /**
   * send the headers (content-length of the whole body) and only the first `after` characters of the
   * body, then stall (the connection stays open) or drop the connection
   */
  cut?: { after: number; then: "stall" | "drop" };
}

/** a reply computed from the request */
export type Responder = (request: RecordedRequest) => FakeReply;
export type Answer = FakeReply | Responder;

export interface UsageNumbers {
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
}

/** The usage every scripted answer reports unless told otherwise. */
export const DEFAULT_USAGE: UsageNumbers = { input_tokens: 18_000, cached_tokens: 2_000, output_tokens: 2_400, reasoning_tokens: 1_600 };

let sequence = 0;
const id = (prefix: string) => `${prefix}_${(++sequence).toString(16).padStart(8, "0")}${"0".repeat(24)}`;

function rateLimitHeaders(): Record<string, string> {
  return {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-limit-tokens": "4000000",
    "x-ratelimit-remaining-tokens": "3979000",
    "x-ratelimit-reset-tokens": "315ms",
  };
}

export interface AnswerOptions {
  /** web_search_call items before the message (each with its sources) */
  searches?: { query: string; sources: string[] }[];
  usage?: Partial<UsageNumbers>;
  model?: string;
  status?: "completed" | "incomplete" | "failed";
  incompleteReason?: string;
  error?: { code: string; message: string };
  /** message content parts instead of one output_text with the text */
  content?: unknown[];
}

/** A Responses API response object whose message's output_text is `text`. */
export function responseObject(request: RecordedRequest, text: string, options: AnswerOptions = {}): Record<string, unknown> {
  const usage = { ...DEFAULT_USAGE, ...options.usage };
  const searches = options.searches ?? [{ query: "property management", sources: ["https://www.example.com/"] }];
  const status = options.status ?? "completed";
  return {
    id: id("resp"),
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: options.error ?? null,
    incomplete_details: status === "incomplete" ? { reason: options.incompleteReason ?? "max_output_tokens" } : null,
    instructions: request.body?.instructions ?? null,
    max_output_tokens: request.body?.max_output_tokens ?? null,
    max_tool_calls: request.body?.max_tool_calls ?? null,
    model: options.model ?? `${request.body?.model ?? "gpt-5-mini"}-2025-08-07`,
    output: [
      { id: id("rs"), type: "reasoning", summary: [] },
      ...searches.map((s) => ({
        id: id("ws"),
        type: "web_search_call",
        status: "completed",
        action: { type: "search", query: s.query, queries: [s.query], sources: s.sources.map((url) => ({ type: "url", url })) },
      })),
      ...(status === "failed" ? [] : [{
        id: id("msg"),
        type: "message",
        status: status === "completed" ? "completed" : "incomplete",
        role: "assistant",
        content: options.content ?? [{ type: "output_text", text, annotations: [], logprobs: [] }],
      }]),
    ],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: request.body?.reasoning?.effort ?? null, summary: null },
    store: request.body?.store ?? true,
    temperature: 1,
    text: request.body?.text ?? { format: { type: "text" } },
    tool_choice: "auto",
    tools: request.body?.tools ?? [],
    top_p: 1,
    truncation: "disabled",
    usage: {
      input_tokens: usage.input_tokens,
      input_tokens_details: { cached_tokens: usage.cached_tokens, cache_write_tokens: 0 },
      output_tokens: usage.output_tokens,
      output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
      total_tokens: usage.input_tokens + usage.output_tokens,
    },
    metadata: {},
  };
}

function errorReply(status: number, error: { message: string; type: string; code: string | null; param?: string | null }, headers: Record<string, string> = {}): FakeReply {
  return { status, headers, body: { error: { param: null, ...error } } };
}

/** Scripted answers. */
export const replies = {
  /** a completed response whose answer is `json` */
  json: (json: unknown, options?: AnswerOptions): Responder => (request) => ({ body: responseObject(request, JSON.stringify(json), options) }),
  /** a completed response whose output text is `text` as it is (e.g. malformed JSON) */
  text: (text: string, options?: AnswerOptions): Responder => (request) => ({ body: responseObject(request, text, options) }),
  /** valid JSON of the wrong shape for every schema */
  wrongShape: (): Answer => replies.json({ companies: "three", contacts: [{ name: "J. Smith" }], exhausted: "no" }),
  incomplete: (reason = "max_output_tokens"): Responder => (request) =>
    ({ body: responseObject(request, '{"companies": [{"name": "Hill Country Prop', { status: "incomplete", incompleteReason: reason }) }),
  refusal: (text = "I'm sorry, but I can't help with that request."): Responder => (request) =>
    ({ body: responseObject(request, "", { content: [{ type: "refusal", refusal: text }] }) }),
  failed: (code = "server_error", message = "The server had an error processing your request."): Responder => (request) =>
    ({ body: responseObject(request, "", { status: "failed", error: { code, message } }) }),
  rateLimited: (wait: { retryAfterMs?: number; retryAfter?: string } = {}): FakeReply => errorReply(429, {
    message: "Rate limit reached for gpt-5-mini in organization org-fake on tokens per min (TPM): Limit 200000, Used 198500, Requested 6000. Please try again in 1.35s.",
    type: "tokens",
    code: "rate_limit_exceeded",
  }, {
    ...(wait.retryAfterMs !== undefined ? { "retry-after-ms": String(wait.retryAfterMs) } : {}),
    ...(wait.retryAfter !== undefined ? { "retry-after": wait.retryAfter } : {}),
    "x-ratelimit-remaining-tokens": "1500",
    "x-ratelimit-reset-tokens": "1.35s",
  }),
  insufficientQuota: (): FakeReply => errorReply(429, {
    message: "You exceeded your current quota, please check your plan and billing details.",
    type: "insufficient_quota",
    code: "insufficient_quota",
  }, { "x-should-retry": "false" }),
  spendLimit: (): FakeReply => errorReply(429, {
    message: "You have exceeded the spend limit of this project.",
    type: "insufficient_quota",
    code: "project_spend_limit_exceeded",
  }),
  badRequest: (message = "Unsupported value: 'reasoning.effort' does not support 'minimal' with the 'web_search' tool.", param = "reasoning.effort"): FakeReply =>
    errorReply(400, { message, type: "invalid_request_error", code: "unsupported_value", param }),
  unauthorized: (): FakeReply => errorReply(401, {
    message: "Incorrect API key provided: sk-fake*****1234. You can find your API key at https://platform.openai.com/account/api-keys.",
    type: "invalid_request_error",
    code: "invalid_api_key",
  }),
  forbidden: (): FakeReply => errorReply(403, { message: "Project does not have access to model gpt-5-mini", type: "invalid_request_error", code: "model_not_found" }),
  serverError: (status = 500): FakeReply => errorReply(status, {
    message: "The server had an error while processing your request. Sorry about that!",
    type: "server_error",
    code: null,
  }),
  hang: (): FakeReply => ({ hang: true }),
  /** the realistic answer, cut after `after` characters of its body: then a stall or a dropped connection */
  cut: (then: "stall" | "drop", after = 300): Responder => (request) => ({ ...defaultAnswer(request), cut: { after, then } }),
  /** the realistic answer's JSON cut short, in a complete HTTP message (content-length of what is sent) */
  truncatedJson: (after = 300): Responder => (request) => ({ raw: JSON.stringify(defaultAnswer(request).body).slice(0, after) }),
  /** what a proxy or captive portal in front of the API answers: 200 with an HTML login page */
  loginPage: (): FakeReply => ({
    headers: { "content-type": "text/html; charset=utf-8" },
    raw: "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n<body><form action=\"/login\" method=\"post\">" +
      "<p>Please sign in to continue.</p><input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n",
  }),
  /** a response that failed because the prompt was refused */
  invalidPrompt: (): Responder => replies.failed("invalid_prompt", "Invalid prompt: your prompt was flagged as potentially violating our usage policy."),
};

/** Realistic answers per schema: synthetic companies under the reserved .example TLD. */
export const realistic = {
  discovery: {
    companies: [
      {
        name: "Hill Country Property Management",
        domain: "hillcountrypm.example",
        website: "https://www.hillcountrypm.example/",
        city: "Austin",
        state: "TX",
        pms: "Buildium",
        source_urls: ["https://hillcountrypm.managebuilding.com/Resident/public/rentals", "https://www.hillcountrypm.example/residents"],
      },
      {
        name: "Barton Creek Rentals",
        domain: "bartoncreekrentals.example",
        website: "https://bartoncreekrentals.example/",
        city: "Austin",
        state: "TX",
        pms: "Buildium",
        source_urls: ["https://bartoncreek.managebuilding.com/Resident/public/rentals"],
      },
    ],
    exhausted: false,
  },
  company_research: {
    pms: "Buildium",
    pms_confidence: "high",
    pms_evidence_urls: ["https://hillcountrypm.managebuilding.com/Resident/portal/login"],
    units: 450,
    units_estimated: true,
    units_quote: "We proudly manage over 450 homes across Central Texas",
    units_source_url: "https://www.hillcountrypm.example/about",
    single_family_focus: "yes",
    property_mix: "single-family homes, duplexes and small multifamily",
    employees: 14,
    icp_fit: "strong",
    icp_score: 82,
    icp_tier: 1,
    disqualifiers: [],
    agent_summary: "Third-party residential manager in Austin with about 450 homes, mostly single-family; resident portal on Buildium linked from its own site.",
    source_urls: ["https://www.hillcountrypm.example/", "https://www.hillcountrypm.example/about", "https://www.hillcountrypm.example/residents"],
  },
  contact_search: {
    contacts: [
      {
        full_name: "Maria Delgado",
        title: "Broker/Owner",
        title_tier: 1,
        email: "maria@hillcountrypm.example",
        email_class: "published",
        linkedin_url: null,
        title_source_url: "https://www.hillcountrypm.example/team",
        email_source_url: "https://www.hillcountrypm.example/team",
        department: "Executive",
        seniority: "owner",
        quality_score: 90,
        icp_score: null,
        personalization_notes: "Founded the company in 2009; TREC-licensed broker.",
        personal_anecdotes: null,
        professional_anecdotes: "Speaks at the Austin NARPM chapter.",
        additional_research_notes: null,
        agent_summary: "Owner and broker of record, listed with her e-mail on the team page.",
        source_urls: ["https://www.hillcountrypm.example/team"],
      },
      {
        full_name: "Kevin Tran",
        title: "Director of Operations",
        title_tier: 3,
        email: "kevin@hillcountrypm.example",
        email_class: "pattern_inferred",
        linkedin_url: "https://www.linkedin.com/in/kevin-tran-austin",
        title_source_url: "https://www.linkedin.com/in/kevin-tran-austin",
        email_source_url: null,
        department: "Operations",
        seniority: "director",
        quality_score: 65,
        icp_score: null,
        personalization_notes: null,
        personal_anecdotes: null,
        professional_anecdotes: null,
        additional_research_notes: "Pattern firstname@ seen on the team page (maria@).",
        agent_summary: "Runs operations per the team page and LinkedIn.",
        source_urls: ["https://www.hillcountrypm.example/team", "https://www.linkedin.com/in/kevin-tran-austin"],
      },
    ],
    exhausted: true,
  },
} as const;

const REALISTIC_SEARCHES: Record<string, { query: string; sources: string[] }[]> = {
  discovery: [
    { query: "site:managebuilding.com \"Resident/public/rentals\" Austin TX", sources: ["https://hillcountrypm.managebuilding.com/Resident/public/rentals", "https://bartoncreek.managebuilding.com/Resident/public/rentals"] },
    { query: "Hill Country Property Management Austin", sources: ["https://www.hillcountrypm.example/", "https://www.hillcountrypm.example/residents"] },
    { query: "Barton Creek Rentals Austin property management", sources: ["https://bartoncreekrentals.example/"] },
  ],
  company_research: [
    { query: "Hill Country Property Management Austin homes managed", sources: ["https://www.hillcountrypm.example/about", "https://www.hillcountrypm.example/"] },
    { query: "hillcountrypm.example resident portal", sources: ["https://www.hillcountrypm.example/residents"] },
  ],
  contact_search: [
    { query: "Hill Country Property Management owner broker Austin", sources: ["https://www.hillcountrypm.example/team", "https://www.linkedin.com/in/kevin-tran-austin"] },
  ],
};

/** The default answer: a realistic one for the schema the request names. */
function defaultAnswer(request: RecordedRequest): FakeReply {
  const name = request.body?.text?.format?.name as keyof typeof realistic | undefined;
  if (!name || !(name in realistic)) {
    return errorReply(400, { message: `fake-openai: no realistic answer for text.format.name ${JSON.stringify(name)}`, type: "invalid_request_error", code: null });
  }
  return { body: responseObject(request, JSON.stringify(realistic[name]), { searches: REALISTIC_SEARCHES[name] }) };
}

// ---- Background mode (owned by the background-mode tests; other options of the fake live above) (POST /v1/responses with background: true; GET /v1/responses/{id};
// POST /v1/responses/{id}/cancel), as the real API does it: the create answers at once with the
// response queued and no output; the response is in_progress, then its scripted answer (completed,
// or whatever the script says) once `durationMs` has passed since its creation; a cancel ends a
// response not yet ended as cancelled (one already ended is answered as it is). Kept apart from the
// foreground scripting above: the answer is computed when the response is created, as the script says.

/** One response created in the background, with the answer it will end with. */
interface BackgroundResponse {
  createdAt: number;
  /** the scripted final body (a Response object) */
  final: Record<string, unknown>;
  cancelled: boolean;
}

export class FakeBackground {
  /** how long a background response takes from creation to its final state */
  durationMs = 2_000;
  readonly responses = new Map<string, BackgroundResponse>();
  /** the ids POST /v1/responses/{id}/cancel was called for, in order (unknown ones too: answered 404) */
  readonly cancels: string[] = [];

  reset(): void {
    this.responses.clear();
    this.cancels.length = 0;
  }

  /** The answer to a background create: the scripted reply, kept for later and answered as queued. */
  create(reply: FakeReply): FakeReply {
    const final = reply.body as Record<string, unknown> | undefined;
    if ((reply.status ?? 200) !== 200 || !final || typeof final.id !== "string") return reply; // refused at once, as in the foreground
    const response = { createdAt: Date.now(), final: { ...final, background: true, store: true }, cancelled: false };
    this.responses.set(final.id, response);
    return { body: this.state(final.id, response, "queued") };
  }

  /** GET /v1/responses/{id} and POST /v1/responses/{id}/cancel; null for any other request. */
  handle(method: string, path: string): FakeReply | null {
    const match = /^\/v1\/responses\/([^/?]+)(\/cancel)?(\?.*)?$/.exec(path);
    if (!match || (method === "GET") === !!match[2] || (method !== "GET" && method !== "POST")) return null;
    const [, id, cancel] = match;
    if (cancel) this.cancels.push(id); // also for an unknown id: the cancel was asked for
    const response = this.responses.get(id);
    if (!response) {
      return errorReply(404, { message: `No response found with id '${id}'.`, type: "invalid_request_error", code: null, param: null });
    }
    if (cancel && !this.ended(response)) response.cancelled = true;
    return { body: this.state(id, response) };
  }

  private ended(response: BackgroundResponse): boolean {
    return response.cancelled || Date.now() - response.createdAt >= this.durationMs;
  }

  /** The response object as it is now: its final body once ended; before, no output and no usage. */
  private state(id: string, response: BackgroundResponse, early: "queued" | "in_progress" = "in_progress"): Record<string, unknown> {
    if (!response.cancelled && this.ended(response)) return response.final;
    const status = response.cancelled ? "cancelled" : early;
    const { usage: _billedAtTheEnd, ...rest } = response.final;
    return { ...rest, id, status, output: [], error: null, incomplete_details: null };
  }
}
// ---- end of background mode

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  /** background-mode responses and cancels (see FakeBackground) */
  readonly background = new FakeBackground();
  private readonly queue: Answer[] = [];
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server, readonly baseURL: string) {}

  static async start(): Promise<FakeOpenAI> {
    let fake: FakeOpenAI;
    const server = createServer((req, res) => {
      let text = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (text += chunk));
      req.on("end", () => fake.handle(req.method ?? "GET", req.url ?? "/", req.headers, text, res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeOpenAI(server, `http://127.0.0.1:${port}/v1`);
    return fake;
  }

  /** Queues the next answers, in order; afterwards the realistic default answers again. */
  reply(...answers: Answer[]): this {
    this.queue.push(...answers);
    return this;
  }

  private responder: Answer | undefined;

  /** Answers every request that finds no queued answer (instead of the realistic defaults). */
  respondWith(answer: Answer): this {
    this.responder = answer;
    return this;
  }

  /** Forgets recorded requests and queued answers. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.background.reset();
  }

  private handle(method: string, path: string, headers: IncomingHttpHeaders, text: string, res: ServerResponse): void {
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    const request: RecordedRequest = { method, path, headers, body };
    this.requests.push(request);
    // GET /responses/{id} and its cancel: the background section's
    const backgroundReply = this.background.handle(method, path);
    if (backgroundReply) return this.write(res, backgroundReply);
    const answer = (): FakeReply => {
      const next = this.queue.shift() ?? this.responder;
      const reply = next === undefined ? defaultAnswer(request) : typeof next === "function" ? next(request) : next;
      return (body as { background?: unknown } | null)?.background === true ? this.background.create(reply) : reply;
    };
    if (method === "POST" && path === "/v1/responses" && this.simulation) {
      return this.simulation.deliver(request, answer, (reply) => this.write(res, reply));
    }
    const reply = method !== "POST" || path !== "/v1/responses"
      ? errorReply(404, { message: `Invalid URL (${method} ${path})`, type: "invalid_request_error", code: null })
      : answer();
    this.write(res, reply);
  }

  private write(res: ServerResponse, reply: FakeReply): void {
    if (reply.hang) return this.hold(res);
    const status = reply.status ?? 200;
    const payload = reply.raw ?? JSON.stringify(reply.body ?? null);
    res.writeHead(status, {
      "content-type": "application/json",
      "x-request-id": `req_${id("").slice(1)}`,
      "openai-processing-ms": "1234",
      "openai-version": "2020-10-01",
      ...(status === 200 ? rateLimitHeaders() : {}),
      "content-length": String(Buffer.byteLength(payload)),
      ...reply.headers,
    });
    if (!reply.cut) return void res.end(payload);
    if (reply.cut.then === "stall") {
      res.write(payload.slice(0, reply.cut.after));
      return this.hold(res);
    }
    // dropped once the first part is flushed: the client has its headers and part of the body
    res.write(payload.slice(0, reply.cut.after), () => res.destroy());
  }

  private simulation?: Simulation;

  /**
   * Simulates a loaded provider (latency, 429s, an enforced rate limit) from now on, with fresh
   * counters; see the simulation section at the end of this file. Off unless called.
   */
  simulate(options: SimulationOptions): Simulation {
    this.simulation = new Simulation(options);
    return this.simulation;
  }

  /** Keeps a response open without answering (closed by the client, or by close()). */
  private hold(res: ServerResponse): void {
    this.hanging.add(res);
    res.on("close", () => this.hanging.delete(res));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}


// ---------------------------------------------------------------------------------------------------
// Simulation of a loaded provider (benchmarks and pacing tests; off unless FakeOpenAI.simulate is
// called): a latency per call drawn from a seeded log-normal distribution, a share of calls answered
// 429 with retry-after, and an enforced rate limit (requests and optionally tokens per window, a
// token bucket refilled continuously, as OpenAI's are) with truthful x-ratelimit-* headers on every
// answer. It counts calls, 429s and billed responses and records each call's latency.

export interface SimulationOptions {
  /** time to answer a call: log-normal with this median and spread (sigma of its log; default 0.5) */
  latency?: { medianMs: number; spread?: number };
  /** share of calls (0..1) answered 429 rate_limit_exceeded with retry-after, beside any enforced limit */
  rateLimitedShare?: number;
  /** the retry-after of those 429s, in seconds (default 1) */
  retryAfterSeconds?: number;
  /** enforced limits per window (default 60 s): a call beyond them is answered 429 */
  limits?: { requests?: number; tokens?: number; windowSeconds?: number };
  /** seed of the latency and 429 draws (default 1) */
  seed?: number;
}

export interface SimulatedCall {
  /** Date.now() when the call arrived */
  at: number;
  operation: string | null;
  status: number;
  /** ms from arrival to the answer (0 for a refusal) */
  latencyMs: number;
  /** a 429's retry-after, in seconds: the wait the provider asked for */
  retryAfterSeconds?: number;
  /** the billed response's usage and model (200s only) */
  billed?: { model: string; usage: UsageNumbers & { total_tokens: number }; web_searches: number };
}

/** OpenAI's reset format: "1s", "6m0s", "12ms", "1.5s". */
export function resetFormat(seconds: number): string {
  if (seconds < 1) return `${Math.max(0, Math.ceil(seconds * 1000))}ms`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round((seconds - minutes * 60) * 1000) / 1000;
  return minutes > 0 ? `${minutes}m${rest}s` : `${rest}s`;
}


class Bucket {
  private level: number;
  private at = Date.now();
  constructor(readonly limit: number, readonly windowSeconds: number) {
    this.level = limit;
  }
  private get perSecond() {
    return this.limit / this.windowSeconds;
  }
  now(): number {
    const t = Date.now();
    this.level = Math.min(this.limit, this.level + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    return this.level;
  }
  take(amount: number): boolean {
    if (this.now() < amount) return false;
    this.level -= amount;
    return true;
  }
  /** seconds until `amount` is there */
  waitFor(amount: number): number {
    return Math.max(0, (Math.min(amount, this.limit) - this.now()) / this.perSecond);
  }
  /** seconds until full: x-ratelimit-reset-* */
  resetSeconds(): number {
    return (this.limit - this.now()) / this.perSecond;
  }
}

export class Simulation {
  readonly calls: SimulatedCall[] = [];
  private readonly random: () => number;
  private readonly requests?: Bucket;
  private readonly tokens?: Bucket;

  constructor(readonly options: SimulationOptions) {
    this.random = rng(options.seed ?? 1);
    const window = options.limits?.windowSeconds ?? 60;
    if (options.limits?.requests) this.requests = new Bucket(options.limits.requests, window);
    if (options.limits?.tokens) this.tokens = new Bucket(options.limits.tokens, window);
  }

  get rateLimited(): number {
    return this.calls.filter((c) => c.status === 429).length;
  }

  get billed(): SimulatedCall[] {
    return this.calls.filter((c) => c.billed);
  }

  private latencyMs(): number {
    const latency = this.options.latency;
    if (!latency) return 0;
    // Box-Muller: a standard normal from two uniform draws
    const z = Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
    return latency.medianMs * Math.exp((latency.spread ?? 0.5) * z);
  }

  /** The x-ratelimit-* headers of the limits enforced (none: the fake's usual constant ones). */
  private limitHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, bucket] of [["requests", this.requests], ["tokens", this.tokens]] as const) {
      if (!bucket) continue;
      headers[`x-ratelimit-limit-${name}`] = String(bucket.limit);
      headers[`x-ratelimit-remaining-${name}`] = String(Math.floor(bucket.now()));
      headers[`x-ratelimit-reset-${name}`] = resetFormat(bucket.resetSeconds());
    }
    return headers;
  }

  private refuse(call: SimulatedCall, send: (reply: FakeReply) => void, retryAfterSeconds: number, what: "requests" | "tokens", message: string): void {
    call.status = 429;
    call.retryAfterSeconds = retryAfterSeconds;
    this.calls.push(call);
    const limit = replies.rateLimited({ retryAfterMs: Math.ceil(retryAfterSeconds * 1000), retryAfter: String(Math.ceil(retryAfterSeconds)) });
    const body = limit.body as { error: Record<string, unknown> };
    send({ ...limit, headers: { ...limit.headers, ...this.limitHeaders() }, body: { error: { ...body.error, type: what, message } } });
  }

  deliver(request: RecordedRequest, answer: () => FakeReply, send: (reply: FakeReply) => void): void {
    const at = Date.now();
    const operation = (request.body?.text?.format?.name as string | undefined) ?? null;
    const call: SimulatedCall = { at, operation, status: 200, latencyMs: 0 };
    const model = String(request.body?.model ?? "gpt-5-mini");
    if (this.requests && !this.requests.take(1)) {
      const wait = this.requests.waitFor(1);
      return this.refuse(call, send, wait, "requests", `Rate limit reached for ${model} in organization org-fake on requests per min (RPM): ` +
        `Limit ${this.requests.limit}, Used ${this.requests.limit}, Requested 1. Please try again in ${resetFormat(wait)}.`);
    }
    if ((this.options.rateLimitedShare ?? 0) > 0 && this.random() < this.options.rateLimitedShare!) {
      const wait = this.options.retryAfterSeconds ?? 1;
      return this.refuse(call, send, wait, "tokens", `Rate limit reached for ${model} in organization org-fake on tokens per min (TPM): ` +
        `Limit 200000, Used 198500, Requested 6000. Please try again in ${resetFormat(wait)}.`);
    }
    const reply = answer();
    const usage = (reply.body as { usage?: UsageNumbers & { total_tokens?: number } } | undefined)?.usage;
    const total = usage ? (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0) : 0;
    if (this.tokens && !this.tokens.take(total)) {
      this.requests?.take(-1); // the request was not served: it does not count
      const wait = this.tokens.waitFor(total);
      return this.refuse(call, send, wait, "tokens", `Rate limit reached for ${model} in organization org-fake on tokens per min (TPM): ` +
        `Limit ${this.tokens.limit}, Requested ${total}. Please try again in ${resetFormat(wait)}.`);
    }
    const delay = this.latencyMs();
    setTimeout(() => {
      call.status = reply.status ?? 200;
      call.latencyMs = Date.now() - at;
      const body = reply.body as { model?: string; usage?: Record<string, any> } | undefined;
      if (call.status === 200 && body?.usage) {
        call.billed = {
          model: String(body.model ?? model),
          usage: {
            input_tokens: body.usage.input_tokens, cached_tokens: body.usage.input_tokens_details?.cached_tokens ?? 0,
            output_tokens: body.usage.output_tokens, reasoning_tokens: body.usage.output_tokens_details?.reasoning_tokens ?? 0,
            total_tokens: body.usage.total_tokens,
          },
          web_searches: ((body as { output?: { type: string }[] }).output ?? []).filter((o) => o.type === "web_search_call").length,
        };
      }
      this.calls.push(call);
      send({ ...reply, headers: { ...reply.headers, ...this.limitHeaders() } });
    }, delay);
  }
}
