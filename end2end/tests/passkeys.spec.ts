// Passkeys in Chromium, JavaScript ON (the rest of the suite runs with it off): add a passkey
// on the two-factor page and sign in with it, through Chromium's virtual authenticator (CDP
// `WebAuthn`). WebAuthn needs a domain name (an IP address cannot be a relying party), so
// this spec runs a server of its own at http://localhost:<port>.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { freePort, waitReady } from '../support/global-setup';
import { confirmFromMail, expectHeading, expectHome, newPassword, screenshots, signUp, uniqueEmail } from '../support/flows';

let server: ChildProcess | undefined;
let dir = '';
let base = '';
let suiteBase: string | undefined;

test.beforeAll(async () => {
  const port = await freePort();
  base = `http://localhost:${port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'terminus-e2e-passkeys-'));
  const logPath = path.join(dir, 'server.log');
  const log = fs.openSync(logPath, 'a');
  server = spawn(process.env.E2E_TERMINUS_BIN ?? '', ['serve'], {
    cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'),
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${path.join(dir, 'e2e.db')}`,
      TERMINUS_ADDR: `127.0.0.1:${port}`,
      TERMINUS_PUBLIC_URL: base,
      SMTP_URL: process.env.E2E_SMTP_URL ?? '',
      TERMINUS_MAIL_FROM: 'Terminus Hub <no-reply@terminus.test>',
      TERMINUS_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
      RUST_LOG: process.env.RUST_LOG || 'info',
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  await waitReady(server, `http://127.0.0.1:${port}`, logPath);
  // The shared helpers check that mailed links point at the server under test.
  suiteBase = process.env.BASE_URL;
  process.env.BASE_URL = base;
});

test.afterAll(async () => {
  process.env.BASE_URL = suiteBase;
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    await exited;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('add a passkey, then sign in with it (virtual authenticator, JavaScript on)', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ baseURL: base, javaScriptEnabled: true });
  const page = await context.newPage();
  const shot = screenshots(page, testInfo);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  const email = uniqueEmail('passkey');
  const password = newPassword();
  await signUp(page, shot, email);
  await confirmFromMail(page, shot, email, password); // signed in on /home

  await page.goto('/settings/security/two-factor');
  await expectHeading(page, 'Two-factor authentication');
  await expect(page.locator('#no-passkeys')).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Test laptop');
  await shot('add-passkey');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  // The first second factor: its recovery codes, shown once.
  await expectHeading(page, 'Two-factor authentication is on');
  await expect(page.locator('#recovery-codes li')).toHaveCount(10);
  await shot('passkey-recovery-codes');
  await page.getByRole('link', { name: 'I saved them' }).click();
  await expect(page.locator('#two-factor-state')).toHaveText('On: a passkey, and 10 recovery codes left.');
  await expect(page.locator('#passkeys')).toContainText('Test laptop');
  await shot('passkey-added');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);

  // Signed out (the cookie gone), the sign-in page's email field offers the passkey
  // (conditional mediation); the virtual authenticator answers as a person picking it from the
  // field's suggestions would, and the script completes the sign-in: no password, no step two.
  await context.clearCookies();
  await page.goto('/sign-in');
  await expectHome(page, shot);

  // The sessions list says how this session started.
  await page.goto('/settings/security');
  await expect(page.locator('table.sessions')).toContainText('Passkey');
  await context.close();
});
