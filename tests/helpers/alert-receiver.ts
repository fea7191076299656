// A local HTTP server standing in for an alert receiver (a Slack-style webhook, an e-mail API): it
// records every request and answers 200, or, for requests whose body contains a given text (a run
// id, a worker id), the statuses a test planned, in order.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
  status: number;
  at: number;
}

export interface Planned {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface AlertReceiver {
  url: string;
  received: Received[];
  /** requests whose body contains `text` */
  requests(text: string): Received[];
  /** the next requests whose body contains `text` get these answers; later ones 200 */
  plan(text: string, answers: Planned[]): void;
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const received: Received[] = [];
  const plans: { text: string; answers: Planned[] }[] = [];
  const server = createServer((request, response) => {
    let raw = "";
    request.on("data", (chunk) => (raw += chunk));
    request.on("end", () => {
      const answer = plans.find((p) => raw.includes(p.text) && p.answers.length)?.answers.shift() ?? { status: 200, body: '{"ok":true}' };
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw);
      } catch {
        // kept raw: a test that expects JSON fails on the empty body
      }
      received.push({ headers: request.headers, raw, body, status: answer.status, at: Date.now() });
      response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      response.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    requests: (text) => received.filter((r) => r.raw.includes(text)),
    plan: (text, answers) => void plans.push({ text, answers: [...answers] }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
