// "updated N s ago", and when the API fails: a banner over the last data (never a blank page).
// react-query keeps the last data on an error and the refresh interval keeps asking, so the page
// recovers by itself; this only tells the reader.
import type { UseQueryResult } from "@tanstack/react-query";
import { ago, useNow } from "./Time.tsx";

export function LiveStatus({ query }: { query: UseQueryResult<unknown> }) {
  const now = useNow(1000);
  const updated = query.dataUpdatedAt;
  return (
    <div className="live">
      {query.isError && (
        <div className="banner banner-bad" role="alert">
          <strong>The API is not answering</strong>: {(query.error as Error).message}.{" "}
          {query.data !== undefined ? "Showing the last data; " : ""}trying again by itself.
        </div>
      )}
      <p className="updated muted" aria-live="off">
        {updated ? `updated ${ago((now - updated) / 1000)}` : query.isPending ? "loading…" : ""}
        {query.isFetching && updated ? " · refreshing" : ""}
      </p>
    </div>
  );
}
