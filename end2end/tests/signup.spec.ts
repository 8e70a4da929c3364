import { expect, test } from '@playwright/test';
import {
  confirmFromMail,
  expectHeading,
  newPassword,
  screenshots,
  signIn,
  signOut,
  signUp,
  uniqueEmail,
} from '../support/flows';

test('sign up, confirm the email, sign in, sign out', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('alice');
  const password = newPassword();

  await signUp(page, shot, email, password);
  await confirmFromMail(page, shot, email); // lands on /sign-in with the confirmed notice
  await signIn(page, shot, email, password);
  await signOut(page, shot);

  // The session is gone: the home page sends us back to sign in.
  await page.goto('/home');
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await expectHeading(page, 'Sign in');
  await shot('home-after-sign-out');
});
