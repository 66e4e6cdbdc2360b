import type { PageProps } from "../app";

export function InventoryConfigs({ route }: PageProps<"inventory">) {
  return <p>Not built yet: {route.page}</p>;
}
