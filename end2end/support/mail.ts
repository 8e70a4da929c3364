// Reading the mail that the server sent to the SMTP sink (support/smtp-sink.mjs).

export interface Message {
  id: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  receivedAt: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;

function sinkUrl(): string {
  const url = process.env.SMTP_SINK_URL;
  if (!url) throw new Error('SMTP_SINK_URL is not set (global setup starts the sink)');
  return url;
}

/**
 * Waits until at least `count` messages were sent to `to` and returns all of them,
 * oldest first. Long-polls the sink: it answers the moment the message arrives.
 */
export async function waitForMail(to: string, count = 1, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Message[]> {
  const params = new URLSearchParams({ to, count: String(count), timeout_ms: String(timeoutMs) });
  const res = await fetch(`${sinkUrl()}/messages/wait?${params}`);
  if (res.status === 408) {
    const seen = await listMail(to);
    throw new Error(
      `expected ${count} message(s) to ${to} within ${timeoutMs} ms, got ${seen.length}: ` +
        JSON.stringify(seen.map((m) => m.subject)),
    );
  }
  if (!res.ok) throw new Error(`SMTP sink answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Message[];
}

/** Waits for the first message to `to` whose subject is exactly `subject`. */
export async function waitForMessage(to: string, subject: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  let count = 1;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let messages: Message[];
    try {
      messages = await waitForMail(to, count, left);
    } catch {
      break;
    }
    const found = messages.find((m) => m.subject === subject);
    if (found) return found;
    count = messages.length + 1;
  }
  const seen = await listMail(to);
  throw new Error(
    `no message "${subject}" to ${to} within ${timeoutMs} ms; got: ${JSON.stringify(seen.map((m) => m.subject))}`,
  );
}

/** Every message sent to `to` so far, oldest first. */
export async function listMail(to: string): Promise<Message[]> {
  const res = await fetch(`${sinkUrl()}/messages?${new URLSearchParams({ to })}`);
  if (!res.ok) throw new Error(`SMTP sink answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Message[];
}

/**
 * The first absolute http(s) URL in the message's text part whose path starts with
 * `pathPrefix` (e.g. "/confirm").
 */
export function linkFrom(message: Message, pathPrefix: string): string {
  for (const match of message.text.matchAll(/https?:\/\/[^\s<>"'()[\]]+/g)) {
    const candidate = match[0].replace(/[.,;:!?]+$/, '');
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      continue;
    }
    if (url.pathname.startsWith(pathPrefix)) return url.toString();
  }
  throw new Error(`no link to ${pathPrefix} in "${message.subject}":\n${message.text}`);
}
