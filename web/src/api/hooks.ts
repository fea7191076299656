// The screens' data: one react-query hook per API read (live: refetched on the refresh setting,
// paused while the tab is hidden) and one mutation per write. Keys are stable, so a refresh
// replaces data in place and the screens keep their scroll, selection and open panels.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type {
  Me, Run, RunCompanies, RunList, RunTasks, SuppressionAdded, SuppressionList, SuppressionRemoved, Workers,
} from "../../../shared/api/responses.ts";
import { api } from "./client.ts";
import { useCredentials } from "./auth.tsx";
import { useRefresh } from "./refresh.tsx";

/** What POST / takes (the request before the API's normalisation: state names, PMS spellings). */
export interface RunInput {
  criteria: { pms?: string | string[] | null; states?: string[]; city?: string; units_min?: number; units_max?: number };
  quantity: number;
  contacts_min?: number;
  contacts_max?: number;
  budget_usd?: number | null;
}

/** POST /:id/decision (the shapes of shared/api/requests.ts Decision that the screens send) */
export type DecisionInput =
  | { decision: "accept_partial" }
  | { decision: "expand_location"; city?: string | null; states?: string[] }
  | { decision: "loosen_pms"; pms: string[] | null }
  | { decision: "set_budget"; budget_usd: number | null };

function useLive() {
  const { interval } = useRefresh();
  // refetchIntervalInBackground false: a hidden tab asks nothing
  return { refetchInterval: interval, refetchIntervalInBackground: false } as const;
}

export function useMe() {
  const credentials = useCredentials();
  return useQuery({ queryKey: ["me"], queryFn: ({ signal }) => api<Me>(credentials, "/me", { signal }), staleTime: 60_000 });
}

/** A viewer key reads only; operator and admin keys act. */
export function useCanAct(): boolean {
  const role = useMe().data?.role;
  return role === "operator" || role === "admin";
}

export interface RunFilters {
  status?: string;
  pms?: string;
  state?: string;
  q?: string;
  limit: number;
  offset: number;
}

export function useRuns(filters: RunFilters) {
  const credentials = useCredentials();
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value !== undefined && value !== "") params.set(name, String(value));
  return useQuery({
    queryKey: ["runs", params.toString()],
    queryFn: ({ signal }) => api<RunList>(credentials, `/?${params}`, { signal }),
    // a new filter or page shows the old list until the new one is there (no blank flash)
    placeholderData: keepPreviousData,
    ...useLive(),
  });
}

export function useRun(id: string) {
  const credentials = useCredentials();
  return useQuery({ queryKey: ["run", id], queryFn: ({ signal }) => api<Run>(credentials, `/${id}`, { signal }), ...useLive() });
}

export function useCompanies(id: string) {
  const credentials = useCredentials();
  return useQuery({
    queryKey: ["run", id, "companies"],
    queryFn: ({ signal }) => api<RunCompanies>(credentials, `/${id}/companies`, { signal }),
    ...useLive(),
  });
}

export function useFailedTasks(id: string) {
  const credentials = useCredentials();
  return useQuery({
    queryKey: ["run", id, "tasks", "failed"],
    queryFn: ({ signal }) => api<RunTasks>(credentials, `/${id}/tasks?state=failed`, { signal }),
    ...useLive(),
  });
}

export function useWorkers() {
  const credentials = useCredentials();
  return useQuery({ queryKey: ["workers"], queryFn: ({ signal }) => api<Workers>(credentials, "/workers", { signal }), ...useLive() });
}

export function useSuppression(limit: number, offset: number) {
  const credentials = useCredentials();
  return useQuery({
    queryKey: ["suppression", limit, offset],
    queryFn: ({ signal }) => api<SuppressionList>(credentials, `/suppression?limit=${limit}&offset=${offset}`, { signal }),
    placeholderData: keepPreviousData,
    ...useLive(),
  });
}

export function useCreateRun(idempotencyKey: string) {
  const credentials = useCredentials();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: RunInput) => api<Run>(credentials, "/", { method: "POST", body: input, headers: { "idempotency-key": idempotencyKey } }),
    onSuccess: (run) => {
      client.setQueryData(["run", run.id], run);
      void client.invalidateQueries({ queryKey: ["runs"] });
    },
  });
}

/** decisions and cancel: both answer the run as it is now */
function useRunAction<T>(id: string, path: string) {
  const credentials = useCredentials();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: T) => api<Run>(credentials, `/${id}/${path}`, { method: "POST", body }),
    onSuccess: (run) => {
      client.setQueryData(["run", id], run);
      void client.invalidateQueries({ queryKey: ["runs"] });
      void client.invalidateQueries({ queryKey: ["run", id] });
    },
  });
}

export const useDecide = (id: string) => useRunAction<DecisionInput>(id, "decision");
export const useCancel = (id: string) => useRunAction<Record<string, never>>(id, "cancel");

export function useAddSuppression() {
  const credentials = useCredentials();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { domains?: string[]; csv?: string; reason?: string; preview?: boolean }) =>
      api<SuppressionAdded>(credentials, "/suppression", { method: "POST", body }),
    onSuccess: (answer) => {
      if (!answer.preview) void client.invalidateQueries({ queryKey: ["suppression"] });
    },
  });
}

export function useRemoveSuppression() {
  const credentials = useCredentials();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (domains: string[]) => api<SuppressionRemoved>(credentials, "/suppression", { method: "DELETE", body: { domains } }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["suppression"] }),
  });
}
