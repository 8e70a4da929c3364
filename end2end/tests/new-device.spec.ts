import { expect, test } from '@playwright/test';
import { linkFrom, waitForMessage } from '../support/mail';
import {
  expectHeading,
  expectSignInRefused,
  newPassword,
  person,
  screenshots,
  signIn,
  signUpAndConfirm,
  uniqueEmail,
} from '../support/flows';

test('a sign-in from a new browser is mailed, and "This wasn\'t me" signs everyone out until a reset', async ({
  page,
  browser,
}, testInfo) => {
  const shot = screenshots(page, testInfo);
  const email = uniqueEmail('device');
  const password = newPassword();
  // Signed up in this browser (its first sign-in: the device is recorded, nobody is told).
  await signUpAndConfirm(page, shot, email, password);

  // Someone else signs in from another browser: the person is mailed.
  const intruder = await person(browser, testInfo, 'intruder');
  await signIn(intruder.page, intruder.shot, email, password);
  const notice = await waitForMessage(email, 'A new sign-in to your Terminus Hub account');
  expect(notice.text).toContain('Device:');
  const link = linkFrom(notice, '/not-me');

  // The person opens the link: a page with a button (opening it changes nothing).
  await page.goto(link);
  await expect(page).toHaveURL((url) => url.pathname === '/not-me' && !url.search.includes('token'));
  await expectHeading(page, "This wasn't me");
  await shot('not-me');
  await intruder.page.reload();
  await expect(intruder.page).toHaveURL((url) => url.pathname === '/home');
  await page.getByRole('button', { name: 'Sign everyone out and reset my password' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await expect(page.getByRole('status')).toContainText('every session of your account has ended');
  await shot('disowned');

  // The intruder is signed out, and the password no longer signs in.
  await intruder.page.reload();
  await expect(intruder.page).toHaveURL((url) => url.pathname === '/sign-in');
  await expectSignInRefused(intruder.page, intruder.shot, email, password, 'blocked');

  // The reset link came: a new password signs in again.
  const reset = await waitForMessage(email, 'Reset your password');
  await page.goto(linkFrom(reset, '/reset'));
  await expectHeading(page, 'Choose a new password');
  const fresh = newPassword();
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/sign-in');
  await signIn(page, shot, email, fresh);
  await intruder.context.close();
});
