import type { PageProps } from "../app";

export function InventoryEdit({ route }: PageProps<"inventory-edit">) {
  return <p>Not built yet: {route.page}</p>;
}
