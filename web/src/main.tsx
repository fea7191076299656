// The app: react-query for the data, hash routes (any static host serves it, views can be shared
// as links: #/runs?status=active&pms=Buildium).
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createHashRouter, Navigate, RouterProvider } from "react-router";
import { AuthProvider, useAuth } from "./api/auth.tsx";
import { ApiError } from "./api/client.ts";
import { RefreshProvider } from "./api/refresh.tsx";
import { Layout } from "./components/Layout.tsx";
import { SignIn } from "./screens/SignIn.tsx";
import { RunsScreen } from "./screens/Runs.tsx";
import { NewRunScreen } from "./screens/NewRun.tsx";
import { RunDetailScreen } from "./screens/RunDetail.tsx";
import { WorkersScreen } from "./screens/Workers.tsx";
import { SuppressionScreen } from "./screens/Suppression.tsx";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // a refused request (4xx) will not change by asking again; an outage is retried by the interval
      retry: (count, error) => count < 1 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: true,
    },
  },
});

function SignedIn() {
  const { credentials } = useAuth();
  return credentials ? <Layout /> : <Navigate to="/signin" replace />;
}

const router = createHashRouter([
  { path: "/signin", element: <SignIn /> },
  {
    element: <SignedIn />,
    children: [
      { index: true, element: <Navigate to="/runs" replace /> },
      { path: "/runs", element: <RunsScreen /> },
      { path: "/runs/new", element: <NewRunScreen /> },
      { path: "/runs/:id", element: <RunDetailScreen /> },
      { path: "/workers", element: <WorkersScreen /> },
      { path: "/suppression", element: <SuppressionScreen /> },
      { path: "*", element: <Navigate to="/runs" replace /> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RefreshProvider>
        <AuthProvider>
          <RouterProvider router={router} />
        </AuthProvider>
      </RefreshProvider>
    </QueryClientProvider>
  </StrictMode>,
);
