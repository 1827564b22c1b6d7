import { useGet } from "../hooks.js";
import { listIn } from "../types.js";

export interface RouteName {
  name: string;
  path?: string;
  targets: string[];
}

interface RouteLike {
  name: string;
  path?: string;
  targets?: ({ name: string } | string)[];
}

/** The configured routes and their targets, for the pickers (from /api/v1/routes). */
export function useRouteNames(): RouteName[] {
  const got = useGet<unknown>("/routes");
  return listIn<RouteLike>(got.data, "routes").map((r) => ({
    name: r.name,
    path: r.path,
    targets: (r.targets ?? []).map((t) => (typeof t === "string" ? t : t.name)),
  }));
}

export function RouteOptions({ routes }: { routes: RouteName[] }) {
  return (
    <>
      {routes.map((r) => (
        <option key={r.name} value={r.name}>
          {r.name}
        </option>
      ))}
    </>
  );
}
