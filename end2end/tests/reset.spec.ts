import { expect, test } from '@playwright/test';
import { linkFrom, waitForMessage } from '../support/mail';
import {
  expectHeading,
  expectSignInRefused,
  newPassword,
  screenshots,
  signIn,
  signUpAndConfirm,
  uniqueEmail,
} from '../support/flows';

test('reset a forgotten password through the emailed link', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('bob');
  const oldPassword = newPassword();
  const freshPassword = newPassword();
  await signUpAndConfirm(page, shot, email, oldPassword);

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/forgot');
  await expectHeading(page, 'Reset your password');
  await shot('forgot');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expectHeading(page, 'Check your email');
  await shot('reset-requested');

  const mail = await waitForMessage(email, 'Reset your password');
  const link = linkFrom(mail, '/reset');
  expect(new URL(link).origin).toBe(process.env.BASE_URL);
  await page.goto(link);
  await expect(page).toHaveURL((url) => url.pathname === '/reset' && !url.search.includes('token'));
  await expectHeading(page, 'Choose a new password');
  await expect(page.getByLabel('New password', { exact: true })).toHaveAttribute('autocomplete', 'new-password');
  await shot('reset');
  await page.getByLabel('New password', { exact: true }).fill(freshPassword);
  await page.getByRole('button', { name: 'Change password' }).click();

  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await expect(page.getByRole('status')).toHaveText('Your password was changed. Sign in with your new password.');
  await shot('password-changed');

  const notice = await waitForMessage(email, 'Your password was changed');
  expect(notice.to).toContain(email.toLowerCase());

  await expectSignInRefused(page, shot, email, oldPassword, 'old-password');
  await signIn(page, shot, email, freshPassword, 'new-password');
});
