import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { createApi } from "./api.js";
import { ApiContext } from "./context.js";
import { DeadLetters } from "./pages/DeadLetters.js";
import { EventDetailPage } from "./pages/EventDetail.js";
import { Events } from "./pages/Events.js";
import { Overview } from "./pages/Overview.js";
import { Refused } from "./pages/Refused.js";
import { TryRoute } from "./pages/TryRoute.js";
import { currentRoute, type Route } from "./route.js";
import "./style.css";

const PAGES: { path: string; label: string }[] = [
  { path: "/", label: "Overview" },
  { path: "/events", label: "Events" },
  { path: "/dead-letters", label: "Dead letters" },
  { path: "/refused", label: "Refused requests" },
  { path: "/try", label: "Try a route" },
];

function TokenForm({ onToken, refused }: { onToken: (token: string) => void; refused: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <div class="overlay">
      <form
        class="token card"
        aria-labelledby="token-title"
        onSubmit={(e) => {
          e.preventDefault();
          const value = input.current?.value.trim();
          if (value) onToken(value);
        }}
      >
        <h2 id="token-title">Admin token</h2>
        <p>
          This daemon has <code>server.admin_token</code> set. Enter it to continue; it is kept in this tab only (session storage) and sent
          as <code>Authorization: Bearer</code>.
        </p>
        {refused && (
          <p class="problem" role="alert">
            The daemon refused that token. Check <code>server.admin_token</code> and try again.
          </p>
        )}
        <label for="token-input">Token</label>
        <input id="token-input" ref={input} type="password" autocomplete="off" required />
        <button type="submit">Continue</button>
      </form>
    </div>
  );
}

function App() {
  const [route, setRoute] = useState<Route>(currentRoute());
  const [asking, setAsking] = useState<{ resolve: (t: string) => void; refused: boolean } | undefined>(undefined);
  const api = useMemo(() => createApi((refused) => new Promise<string>((resolve) => setAsking({ resolve, refused }))), []);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    const onHash = () => {
      // The skip link's "#main" is not a page: keep the page, move focus to the content.
      if (!location.hash.startsWith("#/") && location.hash !== "") {
        main.current?.focus();
        return;
      }
      setRoute(currentRoute());
      main.current?.focus({ preventScroll: true });
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    const page = PAGES.find((p) => p.path === route.path)?.label ?? (route.path.startsWith("/events/") ? "Event" : "Console");
    document.title = `${page} · Switchyard`;
  }, [route.path]);

  const active = (path: string) => (path === "/" ? route.path === "/" : route.path === path || route.path.startsWith(`${path}/`));

  let page = <Overview />;
  if (route.path === "/events") page = <Events params={route.params} />;
  else if (route.path.startsWith("/events/")) page = <EventDetailPage id={decodeURIComponent(route.path.slice("/events/".length))} />;
  else if (route.path === "/dead-letters") page = <DeadLetters params={route.params} />;
  else if (route.path === "/refused") page = <Refused />;
  else if (route.path === "/try") page = <TryRoute params={route.params} />;

  return (
    <ApiContext.Provider value={api}>
      <header class="top">
        <a class="brand" href="#/">
          Switchyard
        </a>
        <nav aria-label="Console pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={`#${p.path}`} aria-current={active(p.path) ? "page" : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
      {asking && (
        <TokenForm
          refused={asking.refused}
          onToken={(t) => {
            asking.resolve(t);
            setAsking(undefined);
          }}
        />
      )}
    </ApiContext.Provider>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
