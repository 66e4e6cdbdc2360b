import type { PageProps } from "../app";

export function Runs({ route }: PageProps<"runs">) {
  return <p>Not built yet: {route.page}</p>;
}
