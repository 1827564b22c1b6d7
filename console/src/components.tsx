import type { ComponentChildren } from "preact";
import type { DeliveryState } from "./types.js";

/** Delivery state as a word, with a class for colour (never colour alone). */
export function StateBadge({ state }: { state: DeliveryState | string }) {
  return <span class={`state state-${state}`}>{state}</span>;
}

export function Problem({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p class="problem" role="alert">
      {error}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Text from a request or a target: shown as text (Preact escapes it), never as HTML. */
export function Pre({ text, label }: { text: string; label: string }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable regions must be reachable by keyboard
    <pre class="code" tabIndex={0} title={label}>
      {text}
    </pre>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}
