import { render } from "preact";
import { App } from "./app";
import "./style.css";

interface Settings {
  region: string;
}

// The region the server verifies signatures for; nothing secret (docs/console.md).
const settings: Settings = await fetch("settings.json").then(
  (r) => (r.ok ? (r.json() as Promise<Settings>) : { region: "us-east-1" }),
  () => ({ region: "us-east-1" }),
);
render(<App region={settings.region} />, document.getElementById("app")!);
