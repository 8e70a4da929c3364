// Starts the SMTP sink and the real Terminus Hub server for the whole Playwright run,
// and returns the teardown that stops both.
//
// Environment read:
//   TERMINUS_BIN   server binary (default ../target/debug/terminus-hub, relative to end2end/)
//   CHROMIUM_PATH  read by playwright.config.ts
// Environment exported to the workers:
//   BASE_URL       http://127.0.0.1:<port> (also the server's TERMINUS_PUBLIC_URL)
//   SMTP_SINK_URL  http://127.0.0.1:<port> of the sink's HTTP API
//   OIDC_ISSUER    http://127.0.0.1:<port> of the OpenID provider (end2end/support/oidc-provider.mjs)
//   DNS_CONTROL_URL http://127.0.0.1:<port> of the DNS server's API (end2end/support/dns-server.mjs),
//                  whose dnsmasq the server resolves through (TERMINUS_DNS_SERVERS)
//   E2E_DATABASE_URL, E2E_SECRET_KEY_FILE  the server's database and key file, for specs that
//                  run `terminus-hub admin …` on it
import type { FullConfig } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const END2END_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO_DIR = path.resolve(END2END_DIR, '..');
const READY_ATTEMPTS = 600; // x 100 ms: a minute for migrations on a cold start
const STOP_GRACE_MS = 10_000;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stop(child: ChildProcess | undefined, name: string): Promise<void> {
  if (!child || hasExited(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    console.warn(`[global-setup] ${name} did not stop within ${STOP_GRACE_MS} ms, killing it`);
    child.kill('SIGKILL');
    await exited;
  }
}

/** Starts a helper process of support/ and returns it with the JSON of its ready line. */
async function startHelper(script: string, logPath: string): Promise<{ child: ChildProcess; ready: any }> {
  const log = fs.openSync(logPath, 'a');
  // stdin stays a pipe we hold: if this runner dies the helper sees EOF and exits.
  const child = spawn(process.execPath, [path.join(END2END_DIR, 'support', script), '--verbose'], {
    stdio: ['pipe', 'pipe', log],
  });
  fs.closeSync(log);
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${script} exited early (code ${code}); see ${logPath}`);
    }),
  ]);
  lines.close();
  child.stdout!.resume(); // never let a full pipe block it
  return { child, ready: JSON.parse(first) };
}

async function startSink(logPath: string): Promise<{ child: ChildProcess; smtp: number; http: number }> {
  const { child, ready } = await startHelper('smtp-sink.mjs', logPath);
  return { child, smtp: ready.smtp, http: ready.http };
}

export async function waitReady(server: ChildProcess, baseUrl: string, logPath: string): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
    if (hasExited(server)) {
      throw new Error(
        `terminus-hub exited during startup (code ${server.exitCode}, signal ${server.signalCode}).\n` +
          tail(logPath),
      );
    }
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String((err as Error).cause ?? err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`terminus-hub not ready at ${baseUrl}/readyz after ${READY_ATTEMPTS} attempts (${last}).\n${tail(logPath)}`);
}

function tail(logPath: string, lines = 40): string {
  try {
    const text = fs.readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return `--- last lines of ${logPath} ---\n${text}`;
  } catch {
    return `(no log at ${logPath})`;
  }
}

export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  const outputDir = path.resolve(END2END_DIR, config.projects[0]?.outputDir ?? 'test-results');
  fs.mkdirSync(outputDir, { recursive: true });
  const serverLog = path.join(outputDir, 'server.log');
  const sinkLog = path.join(outputDir, 'smtp-sink.log');

  const bin = path.resolve(END2END_DIR, process.env.TERMINUS_BIN || '../target/debug/terminus-hub');
  if (!fs.existsSync(bin)) {
    throw new Error(`server binary not found: ${bin} (run \`cargo build\` first, or set TERMINUS_BIN)`);
  }

  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  let provider: ChildProcess | undefined;
  let dns: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  let tmpDir: string | undefined;

  const teardown = async () => {
    await stop(server, 'terminus-hub');
    if (sink) {
      sink.child.stdin?.end();
      await stop(sink.child, 'smtp-sink');
    }
    if (provider) {
      provider.stdin?.end();
      await stop(provider, 'oidc-provider');
    }
    if (dns) {
      dns.stdin?.end();
      await stop(dns, 'dns-server');
    }
    if (tmpDir && !process.env.E2E_KEEP_TMP) fs.rmSync(tmpDir, { recursive: true, force: true });
  };

  try {
    sink = await startSink(sinkLog);
    const oidc = await startHelper('oidc-provider.mjs', path.join(outputDir, 'oidc-provider.log'));
    provider = oidc.child;
    process.env.OIDC_ISSUER = oidc.ready.issuer;
    const dnsServer = await startHelper('dns-server.mjs', path.join(outputDir, 'dns-server.log'));
    dns = dnsServer.child;
    process.env.DNS_CONTROL_URL = `http://127.0.0.1:${dnsServer.ready.http}`;
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'terminus-e2e-'));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;

    const log = fs.openSync(serverLog, 'a');
    server = spawn(bin, ['serve'], {
      cwd: REPO_DIR, // like `cargo run`: static files (style/, public/) are found from here
      env: {
        ...process.env,
        DATABASE_URL: `sqlite://${path.join(tmpDir, 'e2e.db')}`,
        TERMINUS_ADDR: `127.0.0.1:${port}`,
        TERMINUS_PUBLIC_URL: baseUrl,
        SMTP_URL: `smtp://127.0.0.1:${sink.smtp}`,
        TERMINUS_MAIL_FROM: 'Terminus Hub <no-reply@terminus.test>',
        TERMINUS_SECRET_KEY_FILE: path.join(tmpDir, 'secret.key'),
        TERMINUS_DNS_SERVERS: dnsServer.ready.dns,
        RUST_LOG: process.env.RUST_LOG || 'info',
      },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    await Promise.race([
      once(server, 'spawn'),
      once(server, 'error').then(([err]) => {
        throw new Error(`cannot start ${bin}: ${(err as Error).message}`);
      }),
    ]);

    await waitReady(server, baseUrl, serverLog);

    process.env.BASE_URL = baseUrl;
    // For a spec that runs a server of its own (passkeys.spec.ts: WebAuthn needs a domain name).
    process.env.E2E_TERMINUS_BIN = bin;
    process.env.E2E_SMTP_URL = `smtp://127.0.0.1:${sink.smtp}`;
    // For a spec that runs the operator's command line on the server's database (admin.spec.ts).
    process.env.E2E_DATABASE_URL = `sqlite://${path.join(tmpDir, 'e2e.db')}`;
    process.env.E2E_SECRET_KEY_FILE = path.join(tmpDir, 'secret.key');
    process.env.SMTP_SINK_URL = `http://127.0.0.1:${sink.http}`;
    console.log(`[global-setup] terminus-hub at ${baseUrl}, SMTP sink at smtp://127.0.0.1:${sink.smtp} (api ${process.env.SMTP_SINK_URL})`);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
