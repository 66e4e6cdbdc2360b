import type { PageProps } from "../app";

export function Report({ route }: PageProps<"report">) {
  return <p>Not built yet: {route.page}</p>;
}
