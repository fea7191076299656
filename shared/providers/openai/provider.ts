// The OpenAI research provider: one Responses API request per provider call, with the web_search tool
// and a strict JSON-schema answer generated from the zod schemas. It does not retry (the worker's
// policy classifies and records attempts) and it does not validate the answer's shape (the workers
// parse it with zod): it returns the parsed JSON, or throws a ProviderError.
import OpenAI, { APIError } from "openai";
import type { ResponseCreateParamsNonStreaming } from "openai/resources/responses/responses";
import { CompanyResearch, ContactSearch, Discovery, type Criteria, type PageRead } from "../../domain/schemas.ts";
import { ProviderError, type CompanyRef, type ExistingContact, type OnRead, type ResearchProvider } from "../types.ts";
import { checkpointName, openResponseOf, runInBackground, useBackground, type CallCheckpoints, type Fetched } from "./background.ts";
import { OPENAI_DEFAULTS, reasoningEffort, type OpenAIConfig } from "./config.ts";
import { classifyOpenAIError } from "./errors.ts";
import type { Pacer } from "./pacing.ts";
import { DEFAULT_PRICES } from "./prices.ts";
import { contactsPrompt, discoveryPrompt, researchPrompt, userLocation, type Prompt } from "./prompts.ts";
import { strictSchemaOf, type JsonSchema } from "./schema.ts";
import { usageOf, type BilledResponse, type CallUsage } from "./usage.ts";

/** The three kinds of request; also the names of their output schemas (text.format.name). */
export type Operation = "discovery" | "company_research" | "contact_search";

export const OUTPUT_SCHEMAS: Record<Operation, JsonSchema> = {
  discovery: strictSchemaOf(Discovery),
  company_research: strictSchemaOf(CompanyResearch),
  contact_search: strictSchemaOf(ContactSearch),
};

/** What else is known about a billed call (passed to onUsage with its usage). */
export interface CallInfo {
  operation: Operation;
  model: string;
  response_id: string;
  /** x-request-id, what OpenAI support asks for */
  request_id: string | null;
  status: string;
  /** the URLs the web searches returned (web_search_call.action.sources), to check evidence URLs against */
  sources: string[];
  /** when the response was created (its created_at), the time its searches read those pages */
  read_at: string;
}

export interface OpenAIProviderOptions extends Partial<Omit<OpenAIConfig, "apiKey">> {
  apiKey: string;
  /**
   * Called once for every response OpenAI returned (so billed), also when its answer is then refused as
   * invalid_output; not for failed requests (errors are not billed). Calls of one provider instance
   * are sequential in a worker, so a UsageMeter per worker attributes usage to the current task.
   */
  onUsage?: (usage: CallUsage, call: CallInfo) => void;
  /** the shared rate-limit bucket (pacing.ts): a turn before each request, the headers of each answer after */
  pacer?: Pacer;
}

type Output = { type: string; [key: string]: unknown };

/** What a worker reserves to start a background call: its create answers at once. */
const BACKGROUND_START_MS = 10_000;

/**
 * The request body. max_tool_calls is a field of the API (POST /v1/responses) that this SDK version's
 * create-params type lacks; the SDK sends the body as it is.
 */
export type ResponseRequest = ResponseCreateParamsNonStreaming & { max_tool_calls: number };

/** Codes of a failed response (ResponseErrorCode) that refuse the input itself: invalid_prompt, policies, images. */
const INPUT_REFUSED = /^(invalid_prompt|bio_policy|data_residency_mismatch)$|image/;

/** The JSON answer of a response, or the ProviderError saying why there is none. */
export function answerOf(response: { id?: string; status?: string; output?: Output[]; error?: unknown; incomplete_details?: unknown }, requestId: string | null): unknown {
  const ref = ` [response ${response.id ?? "?"}${requestId ? `, request ${requestId}` : ""}]`;
  if (response.status === "failed") {
    const error = (response.error ?? {}) as { code?: string; message?: string };
    const code = error.code ?? "no code";
    const said = `${error.message ?? "no message"}${ref}`;
    if (code === "server_error" || code === "vector_store_timeout") throw new ProviderError("server", `OpenAI response failed (${code}): ${said}`);
    if (code === "rate_limit_exceeded") throw new ProviderError("rate_limit", `OpenAI response failed (${code}): ${said}`);
    if (INPUT_REFUSED.test(code)) {
      // the same request fails the same way again: refused input, not a bad answer
      throw new ProviderError("invalid_input", `OpenAI refused the prompt (${code}): the request is not retried; check the run's criteria — ${said}`);
    }
    throw new ProviderError("invalid_output", `OpenAI response failed (${code}): ${said}`);
  }
  if (response.status === "incomplete") {
    const reason = (response.incomplete_details as { reason?: string } | null)?.reason ?? "no reason given";
    throw new ProviderError("invalid_output", `OpenAI answer incomplete (${reason}${reason === "max_output_tokens" ? ": the answer and its reasoning ran out of output tokens" : ""})${ref}`);
  }
  if (response.status !== "completed") throw new ProviderError("invalid_output", `OpenAI response is ${response.status}, not completed${ref}`);

  const messages = (response.output ?? []).filter((item) => item.type === "message");
  const parts = (messages.at(-1)?.content ?? []) as { type: string; text?: string; refusal?: string }[];
  const text = parts.filter((p) => p.type === "output_text").map((p) => p.text ?? "").join("");
  const refusal = parts.find((p) => p.type === "refusal")?.refusal;
  if (!text.trim()) {
    throw new ProviderError("invalid_output", refusal ? `OpenAI refused: ${refusal.slice(0, 300)}${ref}` : `OpenAI answered without output text${ref}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw new ProviderError("invalid_output", `OpenAI answer is not JSON (${(error as Error).message}): ${JSON.stringify(excerpt)}${ref}`);
  }
}

/** An error's message and its cause's ("terminated: other side closed"). */
const describeError = (error: unknown) => {
  const cause = error instanceof Error ? (error.cause as { message?: string } | undefined) : undefined;
  return error instanceof Error ? `${error.message}${cause?.message ? `: ${cause.message}` : ""}` : String(error);
};

/** A response object: what a 200's body must be. */
type ResponseBody = { id: string; status: string; model?: unknown; output?: unknown; [key: string]: unknown };

/**
 * The response object in a 200's body. A body cut short, or one that is not a response at all (a
 * proxy's or captive portal's HTML login page), is a server error worth retrying, named as such.
 */
export function responseOf(text: string, contentType: string | null, requestId: string | null): ResponseBody {
  const excerpt = JSON.stringify(text.replace(/\s+/g, " ").trim().slice(0, 160));
  const ref = requestId ? ` [request ${requestId}]` : "";
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    if (/^\s*[{[]/.test(text)) {
      throw new ProviderError("server", `OpenAI's answer was cut short: its JSON ends after ${text.length} characters (${(error as Error).message}); retryable${ref}`);
    }
    throw new ProviderError("server", `OpenAI answered 200 with ${contentType || "no content type"}, not JSON: ${excerpt} — ` +
      `is a proxy or login page in front of it? check OPENAI_BASE_URL and the network; retryable${ref}`);
  }
  const response = body as ResponseBody | null;
  if (typeof response !== "object" || response === null || typeof response.status !== "string" || typeof response.id !== "string") {
    throw new ProviderError("server", `OpenAI answered 200 with JSON that is not a response object: ${excerpt} — check OPENAI_BASE_URL; retryable${ref}`);
  }
  return response;
}

/** When a response was created (created_at, Unix seconds); now if it does not say. */
function createdAt(response: ResponseBody): string {
  const seconds = response.created_at;
  return new Date(typeof seconds === "number" && Number.isFinite(seconds) ? seconds * 1000 : Date.now()).toISOString();
}

/** The URLs the response's web searches returned. */
function sourcesOf(output: Output[] | undefined): string[] {
  const urls = new Set<string>();
  for (const item of output ?? []) {
    const action = item.type === "web_search_call" ? (item.action as { sources?: { url?: string }[] } | undefined) : undefined;
    for (const source of action?.sources ?? []) if (source.url) urls.add(source.url);
  }
  return [...urls];
}

export class OpenAIProvider implements ResearchProvider {
  readonly name = "openai";
  readonly config: Omit<OpenAIConfig, "apiKey">;
  private readonly client: OpenAI;
  private readonly onUsage?: (usage: CallUsage, call: CallInfo) => void;
  private readonly pacer?: Pacer;

  /**
   * What the worker must have left of its budget to start a call: the request timeout; in background
   * mode (on / auto) only what creating the response takes, since the budget may end the poll at no
   * cost (the next attempt polls the same response).
   */
  get timeoutMs(): number {
    return this.config.background === "off" ? this.config.timeoutMs : Math.min(this.config.timeoutMs, BACKGROUND_START_MS);
  }

  constructor(options: OpenAIProviderOptions) {
    if (!options.apiKey) throw new Error("the openai provider needs an API key (OPENAI_API_KEY)");
    this.config = {
      baseURL: options.baseURL,
      model: options.model ?? OPENAI_DEFAULTS.model,
      reasoningEffort: reasoningEffort(options.reasoningEffort),
      maxToolCalls: options.maxToolCalls ?? OPENAI_DEFAULTS.maxToolCalls,
      timeoutMs: options.timeoutMs ?? OPENAI_DEFAULTS.timeoutMs,
      maxOutputTokens: options.maxOutputTokens ?? OPENAI_DEFAULTS.maxOutputTokens,
      searchContextSize: options.searchContextSize ?? OPENAI_DEFAULTS.searchContextSize,
      prices: options.prices ?? DEFAULT_PRICES,
      background: options.background ?? OPENAI_DEFAULTS.background,
      backgroundLimitMs: options.backgroundLimitMs ?? OPENAI_DEFAULTS.backgroundLimitMs,
    };
    const { maxToolCalls, timeoutMs, maxOutputTokens } = this.config;
    if (!Number.isInteger(maxToolCalls) || maxToolCalls < 1) throw new Error(`max tool calls must be a whole number >= 1, not ${maxToolCalls}`);
    if (!(timeoutMs > 0) || !(maxOutputTokens > 0)) throw new Error("the openai provider's timeout and max output tokens must be > 0");
    this.onUsage = options.onUsage;
    this.pacer = options.pacer;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      maxRetries: 0,
      timeout: this.config.timeoutMs,
    });
  }

  discoverCompanies(input: { criteria: Criteria; count: number; exclude: string[]; signal: AbortSignal; checkpoints?: CallCheckpoints }): Promise<unknown> {
    const prompt = discoveryPrompt(input.criteria, input.count, input.exclude);
    return this.call("discovery", prompt, userLocation(input.criteria), input.signal, input.checkpoints);
  }

  researchCompany(input: { criteria: Criteria; company: CompanyRef; signal: AbortSignal; checkpoints?: CallCheckpoints; onRead?: OnRead }): Promise<unknown> {
    const prompt = researchPrompt(input.criteria, input.company);
    return this.call("company_research", prompt, userLocation(input.criteria, input.company), input.signal, input.checkpoints, input.onRead);
  }

  findContacts(input: { criteria: Criteria; company: CompanyRef; count: number; existing: ExistingContact[]; signal: AbortSignal;
    checkpoints?: CallCheckpoints; onRead?: OnRead }): Promise<unknown> {
    const prompt = contactsPrompt(input.company, input.count, input.existing);
    return this.call("contact_search", prompt, userLocation(input.criteria, input.company), input.signal, input.checkpoints, input.onRead);
  }

  /** The request body of one call (public for inspection; the tests assert on what the fake server got). */
  request(operation: Operation, prompt: Prompt, location: ReturnType<typeof userLocation>): ResponseRequest {
    const c = this.config;
    return {
      model: c.model,
      instructions: prompt.instructions,
      input: prompt.input,
      tools: [{ type: "web_search", search_context_size: c.searchContextSize, user_location: location }],
      include: ["web_search_call.action.sources"],
      max_tool_calls: c.maxToolCalls,
      max_output_tokens: c.maxOutputTokens,
      reasoning: { effort: c.reasoningEffort },
      text: { format: { type: "json_schema", name: operation, strict: true, schema: OUTPUT_SCHEMAS[operation] } },
      store: false,
    };
  }

  private async call(operation: Operation, prompt: Prompt, location: ReturnType<typeof userLocation>, signal: AbortSignal,
    checkpoints?: CallCheckpoints, onRead?: OnRead): Promise<unknown> {
    signal.throwIfAborted();
    const body = this.request(operation, prompt, location);
    // pacing: wait for a turn of the shared bucket (about 4 characters a token), before the timeout starts
    await this.pacer?.turn(Math.ceil(JSON.stringify(body).length / 4), signal);
    const { timeoutMs } = this.config;
    if (checkpoints && useBackground(this.config.background, {
      timeoutMs, msLeft: checkpoints.deadline - Date.now(), open: openResponseOf(checkpoints.saved(checkpointName(operation))) !== null,
    })) {
      return this.callInBackground(operation, this.request(operation, prompt, location), signal, checkpoints, onRead);
    }
    // the SDK's timeout ends when the headers arrive; this one covers the body too
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const forward = () => deadline.abort();
    signal.addEventListener("abort", forward, { once: true });
    let phase: "headers" | "body" = "headers";
    try {
      const http = await this.client.responses
        .create(body, { signal: deadline.signal, timeout: timeoutMs, maxRetries: 0 })
        .asResponse();
      phase = "body";
      await this.pacer?.observe(http.status, http.headers);
      const requestId = http.headers.get("x-request-id");
      const response = responseOf(await http.text(), http.headers.get("content-type"), requestId);
      return this.answer(operation, response, requestId, true, onRead);
    } catch (error) {
      if (signal.aborted) throw signal.reason; // the worker's abort (lease lost, shutdown): its reason, as the offline provider does
      if (error instanceof ProviderError) throw error;
      if (error instanceof APIError && error.status !== undefined && error.headers) await this.pacer?.observe(error.status, error.headers);
      // an error status is classified by its status, even if its body then stalled
      const refused = error instanceof APIError && error.status !== undefined;
      if (deadline.signal.aborted && !refused) {
        throw new ProviderError("timeout", phase === "headers"
          ? `no answer from OpenAI within ${timeoutMs} ms (the request timeout, PM_LEADS_OPENAI_TIMEOUT_MS)`
          : `OpenAI's answer stalled: its body was not complete within ${timeoutMs} ms (the request timeout, PM_LEADS_OPENAI_TIMEOUT_MS)`);
      }
      if (phase === "body") {
        // undici's "terminated", a reset: the connection dropped after the headers
        throw new ProviderError("server", `the connection to OpenAI broke while its answer was being read (${describeError(error)}); retryable`);
      }
      throw classifyOpenAIError(error, { timeoutMs }) ?? error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", forward);
    }
  }

  /**
   * A response's answer; its usage on record first when it is billed now (once per response), and
   * the pages its searches read told to `onRead` (every time: a resumed background call too).
   */
  private answer(operation: Operation, response: ResponseBody, requestId: string | null, billed: boolean, onRead?: OnRead): unknown {
    const output = response.output as Output[] | undefined;
    const sources = sourcesOf(output);
    const readAt = createdAt(response);
    if (billed) {
      this.onUsage?.(usageOf(response as BilledResponse, this.config.model, this.config.prices), {
        operation,
        model: typeof response.model === "string" ? response.model : this.config.model,
        response_id: response.id,
        request_id: requestId,
        status: response.status,
        sources,
        read_at: readAt,
      });
    }
    onRead?.(sources.map((url): PageRead => ({ url, read_at: readAt })));
    return answerOf({ ...response, output }, requestId);
  }

  /** One call in background mode (background.ts): created once, polled across attempts until it ends. */
  private async callInBackground(operation: Operation, body: ResponseRequest, signal: AbortSignal, checkpoints: CallCheckpoints,
    onRead?: OnRead): Promise<unknown> {
    const { timeoutMs } = this.config;
    // each request of the poll is short; the request timeout bounds each one, the worker's signal all
    const fetched = async (send: (options: { signal: AbortSignal; timeout: number; maxRetries: 0 }) => { asResponse(): Promise<Response> },
      outer: AbortSignal): Promise<Fetched<ResponseBody>> => {
      const deadline = AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]);
      try {
        const http = await send({ signal: deadline, timeout: timeoutMs, maxRetries: 0 }).asResponse();
        const requestId = http.headers.get("x-request-id");
        return { response: responseOf(await http.text(), http.headers.get("content-type"), requestId), requestId };
      } catch (error) {
        if (outer.aborted) throw outer.reason;
        if (error instanceof ProviderError) throw error;
        if (deadline.aborted && !(error instanceof APIError && error.status !== undefined)) {
          throw new ProviderError("timeout", `no answer from OpenAI within ${timeoutMs} ms (the request timeout, PM_LEADS_OPENAI_TIMEOUT_MS)`);
        }
        throw classifyOpenAIError(error, { timeoutMs }) ?? error;
      }
    };
    const result = await runInBackground<ResponseBody>({
      operation, checkpoints, signal, limitMs: this.config.backgroundLimitMs,
      requests: {
        create: (s) => fetched((o) => this.client.responses.create({ ...body, background: true, store: true } as ResponseRequest, o), s),
        retrieve: (id, s) => fetched((o) => this.client.responses.retrieve(id, { include: ["web_search_call.action.sources"] }, o), s),
        cancel: (id) => this.cancelResponse(id),
      },
    });
    return this.answer(operation, result.response, result.requestId, result.billedNow, onRead);
  }

  /** POST /responses/{id}/cancel: stops a background response (what cancelling a run does for its calls). */
  async cancelResponse(id: string): Promise<void> {
    try {
      await this.client.responses.cancel(id, { timeout: this.config.timeoutMs, maxRetries: 0 });
    } catch (error) {
      throw classifyOpenAIError(error, { timeoutMs: this.config.timeoutMs }) ?? error;
    }
  }
}
