import { createHmac } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { expectHeading, expectHome, newPassword, screenshots, signOut, signUp, confirmFromMail, submitSignIn, uniqueEmail } from '../support/flows';
import { waitForMessage } from '../support/mail';

/** RFC 4648 base32 (no padding) to bytes. */
function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text.replace(/\s+/g, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA-1, 6 digits, 30 s steps) an authenticator app shows at `step`. */
function totp(secret: Buffer, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

test('turn on two-factor authentication with the shown secret, then sign in with a code', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('totp');
  const password = newPassword();
  await signUp(page, shot, email);
  await confirmFromMail(page, shot, email, password); // signed in on /home

  // The user menu leads to Security, which leads to two-factor authentication.
  await page.locator('details.user-menu > summary').click();
  await page.getByRole('link', { name: 'Security' }).click();
  await expectHeading(page, 'Security');
  await page.getByRole('link', { name: 'Turn on two-factor authentication' }).click();
  await expectHeading(page, 'Two-factor authentication');
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  await shot('enrol');

  // The test is the authenticator app: it reads the secret shown as text.
  const secret = base32Decode((await page.locator('#totp-secret').textContent()) ?? '');
  expect(secret.length).toBe(20);
  const code = page.getByLabel('Code', { exact: true });
  await expect(code).toHaveAttribute('autocomplete', 'one-time-code');
  await expect(code).toHaveAttribute('inputmode', 'numeric');
  const enrolStep = stepNow();
  await code.fill(totp(secret, enrolStep));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await expectHeading(page, 'Two-factor authentication is on');
  await expect(page.locator('#recovery-codes li')).toHaveCount(10);
  await shot('recovery-codes');
  await waitForMessage(email, 'Two-factor authentication was turned on');
  await page.getByRole('link', { name: 'I saved them' }).click();
  await expect(page.locator('#recovery-codes-left')).toContainText('10 of 10 recovery codes left');

  await signOut(page, shot);

  // The password alone is not enough now: the second step asks for a code.
  await submitSignIn(page, shot, email, password, 'password');
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in/second-factor');
  await expectHeading(page, 'Two-factor authentication');
  await shot('second-step');
  await page.getByLabel('Code', { exact: true }).fill('000000' === totp(secret, stepNow()) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in/second-factor');
  await expect(page.getByText('That code did not work. Check it and try again.')).toBeVisible();
  await shot('wrong-code');

  // A code for a step after the enrolment's (the server accepts one step either way, each once).
  await page.getByLabel('Code', { exact: true }).fill(totp(secret, Math.max(stepNow(), enrolStep) + 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectHome(page, shot);
});
