import type { PageProps } from "../app";

export function Insight({ route }: PageProps<"insight">) {
  return <p>Not built yet: {route.page}</p>;
}
