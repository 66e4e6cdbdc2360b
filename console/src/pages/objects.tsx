import type { PageProps } from "../app";

export function Objects({ route }: PageProps<"objects">) {
  return <p>Not built yet: {route.page}</p>;
}
