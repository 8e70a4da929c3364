import { expect, test } from '@playwright/test';
import { waitForMessage } from '../support/mail';
import {
  expectHeading,
  expectSignInRefused,
  newPassword,
  person,
  screenshots,
  signIn,
  signOut,
  signUpAndConfirm,
  uniqueEmail,
} from '../support/flows';

test('the user menu leads to Security: see where you are signed in, change the password, other sessions end', async ({
  page,
  browser,
}, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('carol');
  const oldPassword = newPassword();
  const freshPassword = newPassword();
  await signUpAndConfirm(page, shot, email, oldPassword);
  await signIn(page, shot, email, oldPassword);

  // A second browser signed in elsewhere.
  const other = await person(browser, testInfo, 'laptop');
  await signIn(other.page, other.shot, email, oldPassword);

  // The user menu opens without JavaScript (a <details>) and leads to Security.
  await page.locator('details.user-menu > summary').click();
  await shot('user-menu');
  await page.getByRole('link', { name: 'Security' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/settings/security');
  await expectHeading(page, 'Security');
  const sessions = page.getByRole('table').filter({ hasText: 'Last seen' });
  await expect(sessions.getByText('This device')).toBeVisible();
  await expect(sessions.getByRole('button', { name: /Sign out/ })).toHaveCount(1);
  await shot('security');

  // Changing the password asks for the current one, next to its field when wrong.
  await page.getByLabel('Current password', { exact: true }).fill('not my password at all');
  await page.getByLabel('New password', { exact: true }).fill(freshPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('That is not your current password.')).toBeVisible();
  await expect(page.getByLabel('Current password', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await shot('wrong-current-password');

  await page.getByLabel('Current password', { exact: true }).fill(oldPassword);
  await page.getByLabel('New password', { exact: true }).fill(freshPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your password was changed, and every other session was signed out.')).toBeVisible();
  await expect(page.getByRole('table').filter({ hasText: 'Last seen' }).getByRole('button', { name: /Sign out/ })).toHaveCount(0);
  await shot('password-changed');
  await waitForMessage(email, 'Your password was changed');

  // The other browser was signed out.
  await other.page.goto('/home');
  await expect(other.page).toHaveURL((url) => url.pathname === '/sign-in');
  await other.context.close();

  await signOut(page, shot);
  await expectSignInRefused(page, shot, email, oldPassword, 'old-password');
  await signIn(page, shot, email, freshPassword, 'new-password');
});
