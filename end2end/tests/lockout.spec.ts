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

test('five wrong passwords lock the account until the unlock link is used', async ({ page }, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('mallory-target');
  const password = newPassword();
  await signUpAndConfirm(page, shot, email, password);

  for (let attempt = 1; attempt <= 5; attempt++) {
    await expectSignInRefused(page, shot, email, `wrong-${attempt}-${password}`, `wrong-${attempt}`);
  }
  // Locked now: the right password gets the very same answer.
  await expectSignInRefused(page, shot, email, password, 'locked');

  const mail = await waitForMessage(email, 'Your account has been locked');
  const link = linkFrom(mail, '/unlock');
  expect(new URL(link).origin).toBe(process.env.BASE_URL);
  await page.goto(link);
  await expect(page).toHaveURL((url) => url.pathname === '/unlock' && !url.search.includes('token'));
  await expectHeading(page, 'Unlock your account');
  await shot('unlock');
  await page.getByRole('button', { name: 'Unlock account' }).click();

  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await expect(page.getByRole('status')).toHaveText('Your account is unlocked. Sign in to continue.');
  await shot('unlocked');

  await signIn(page, shot, email, password);
});
