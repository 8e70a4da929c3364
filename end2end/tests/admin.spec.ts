import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { expectHeading, newPassword, screenshots, signIn, signUpAndConfirm, submitSignIn, uniqueEmail } from '../support/flows';

/** `terminus-hub admin ARGS…` on the server's database; its stdout. */
function admin(...args: string[]): string {
  return execFileSync(process.env.E2E_TERMINUS_BIN!, ['admin', ...args], {
    env: {
      ...process.env,
      DATABASE_URL: process.env.E2E_DATABASE_URL!,
      TERMINUS_SECRET_KEY_FILE: process.env.E2E_SECRET_KEY_FILE!,
      TERMINUS_PUBLIC_URL: process.env.BASE_URL!,
      RUST_LOG: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

test('a user the operator disabled is signed out and cannot sign in until enabled', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('disabled');
  const password = newPassword();
  await signUpAndConfirm(page, shot, email, password);
  await signIn(page, shot, email, password);

  const shown = JSON.parse(admin('user', 'show', email, '--json'));
  expect(shown.email).toBe(email);
  expect(shown.sessions).toBe(1);
  expect(admin('user', 'disable', email)).toContain('API keys keep working');

  // The session in this browser has ended.
  await page.goto('/home');
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await shot('signed-out');

  // The right password gets no session: the sign-in page says why.
  await submitSignIn(page, shot, email, password, 'disabled');
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await expectHeading(page, 'Sign in');
  await expect(page.getByRole('alert')).toContainText('This user is disabled');
  await shot('disabled-refused');

  expect(admin('user', 'enable', email)).toContain('can sign in again');
  await signIn(page, shot, email, password, 'enabled');
});
