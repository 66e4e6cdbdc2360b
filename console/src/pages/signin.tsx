// Sign-in: the keys are checked by listing buckets with them, a request the server authenticates
// like any other. They are then kept in this page's memory only (docs/console.md).
import { useState } from "preact/hooks";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { describeError, s3, type Session } from "../s3";

export function SignIn({ region, onSignedIn }: { region: string; onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const session: Session = {
      accessKeyId: String(form.get("accessKeyId") ?? "").trim(),
      secretAccessKey: String(form.get("secretAccessKey") ?? ""),
      region: String(form.get("region") ?? region).trim() || region,
    };
    setBusy(true);
    setError(undefined);
    try {
      await s3(session).send(new ListBucketsCommand({}));
      onSignedIn(session);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Stocktake</h1>
      <form onSubmit={submit}>
        <label>
          Access key ID
          <input name="accessKeyId" autocomplete="username" required autofocus />
        </label>
        <label>
          Secret access key
          <input name="secretAccessKey" type="password" autocomplete="current-password" required />
        </label>
        <label>
          Region
          <input name="region" value={region} />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="muted">Requests are signed in this page with your keys and checked by the server like any S3 request. The keys are forgotten when the page is closed or reloaded.</p>
    </main>
  );
}
