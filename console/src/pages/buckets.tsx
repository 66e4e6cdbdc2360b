import type { PageProps } from "../app";

export function Buckets({ route }: PageProps<"buckets">) {
  return <p>Not built yet: {route.page}</p>;
}
