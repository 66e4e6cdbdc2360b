// The console's shell: sign-in, then the page the URL's fragment names.
import { useEffect, useState } from "preact/hooks";
import type { Session } from "./s3";
import { parseRoute, type Route } from "./route";
import { SignIn } from "./pages/signin";
import { Buckets } from "./pages/buckets";
import { Objects } from "./pages/objects";
import { InventoryConfigs } from "./pages/inventory";
import { InventoryEdit } from "./pages/inventory-edit";
import { Runs } from "./pages/runs";
import { Insight } from "./pages/insight";
import { Report } from "./pages/report";
import { Settings } from "./pages/settings";

export interface PageProps<R extends Route["page"]> {
  session: Session;
  route: Extract<Route, { page: R }>;
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function Page({ session, route }: { session: Session; route: Route }) {
  switch (route.page) {
    case "buckets":
      return <Buckets session={session} route={route} />;
    case "objects":
      return <Objects session={session} route={route} />;
    case "inventory":
      return <InventoryConfigs session={session} route={route} />;
    case "inventory-edit":
      return <InventoryEdit session={session} route={route} />;
    case "runs":
      return <Runs session={session} route={route} />;
    case "insight":
      return <Insight session={session} route={route} />;
    case "settings":
      return <Settings session={session} route={route} />;
    case "report":
      return <Report session={session} route={route} />;
  }
}

export function App({ region }: { region: string }) {
  // In memory only: a reload or a closed tab signs out (docs/console.md explains why).
  const [session, setSession] = useState<Session>();
  const route = useRoute();
  if (!session) return <SignIn region={region} onSignedIn={setSession} />;
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">
          Stocktake
        </a>
        <span class="who" data-testid="signed-in-as">
          {session.accessKeyId}
        </span>
        <button type="button" class="link" onClick={() => setSession(undefined)}>
          Sign out
        </button>
      </header>
      <main>
        <Page session={session} route={route} />
      </main>
    </div>
  );
}
