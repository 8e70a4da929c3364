import { expect, test } from '@playwright/test';
import {
  GENERIC_SIGN_IN_ERROR,
  confirmFromMail,
  expectHeading,
  newPassword,
  screenshots,
  signIn,
  signOut,
  signUp,
  uniqueEmail,
} from '../support/flows';

test('sign up, choose the password behind the link, sign out, sign in', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('alice');
  const password = newPassword();

  await signUp(page, shot, email);
  await confirmFromMail(page, shot, email, password); // chooses the password; lands signed in on /home
  await signOut(page, shot);
  await signIn(page, shot, email, password);
  await signOut(page, shot);

  // The session is gone: the home page sends us back to sign in.
  await page.goto('/home');
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await expectHeading(page, 'Sign in');
  await shot('home-after-sign-out');
});

test('before the link is used there is no account: the generic message, and a way to resend', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('early');
  const password = newPassword();
  await signUp(page, shot, email);

  // Signing in before confirming (no password exists yet) says only the generic message.
  await page.goto('/sign-in');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in/password');
  await expect(page.getByRole('alert')).toHaveText(GENERIC_SIGN_IN_ERROR);
  await shot('generic-message');

  // It links to "Resend the confirmation email", which answers the same for any address.
  await page.getByRole('link', { name: /Resend the confirmation email/ }).click();
  await expectHeading(page, 'Resend the confirmation email');
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('autocomplete', 'username');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Send a new link' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/check-email');
  // This browser signed up moments ago: the page says a mail went out less than a minute
  // ago (the per-address limit sends nothing new either way).
  await expect(page.getByRole('alert')).toContainText('less than a minute ago');
  await shot('resent');

  // Within the minute no second mail is sent: the first link still works.
  await confirmFromMail(page, shot, email, password);
});
