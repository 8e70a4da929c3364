import { expect, test, type Page } from '@playwright/test';
import { expectHeading, newPassword, person, signIn, signOut, signUpAndConfirm, uniqueEmail } from '../support/flows';
import { linkFrom, waitForMessage } from '../support/mail';

// Two people, each in their own browser: an owner invites an existing user of another
// account; after the next sign-in the picker shows both accounts, and switching changes the
// workspaces shown.

async function pick(page: Page, accountPrefix: string) {
  await page.getByRole('button', { name: new RegExp(`^${accountPrefix}`) }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/home');
}

test('an owner invites an existing user, who then switches between both accounts', async ({ browser }, testInfo) => {
  const owner = await person(browser, testInfo, 'owner');
  const bob = await person(browser, testInfo, 'bob');
  const ownerEmail = uniqueEmail('owner');
  const bobEmail = uniqueEmail('bob');
  const ownerPassword = newPassword();
  const bobPassword = newPassword();

  await signUpAndConfirm(owner.page, owner.shot, ownerEmail, ownerPassword);
  await signIn(owner.page, owner.shot, ownerEmail, ownerPassword);
  await signUpAndConfirm(bob.page, bob.shot, bobEmail, bobPassword);

  // A workspace only the owner's account has, made through its API with a key from the keys page.
  await owner.page.getByRole('link', { name: 'API keys' }).click();
  await expectHeading(owner.page, 'API keys');
  await owner.page.getByLabel('Name').fill('e2e script');
  await owner.page.getByRole('button', { name: 'Create key' }).click();
  await expectHeading(owner.page, 'Your new API key');
  const key = (await owner.page.locator('#new-key').textContent())?.trim() ?? '';
  expect(key).toMatch(/^thub_[0-9A-Za-z]{32}$/);
  await owner.shot('new-key');
  const created = await fetch(`${process.env.BASE_URL}/api/v1/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Owner reports' }),
  });
  expect(created.status).toBe(201);

  // The owner invites Bob.
  await owner.page.getByRole('link', { name: 'Members' }).click();
  await expectHeading(owner.page, 'Members');
  await owner.page.getByLabel('Email', { exact: true }).fill(bobEmail);
  await owner.page.getByLabel('Role', { exact: true }).selectOption('member');
  await owner.page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(owner.page.getByRole('status')).toHaveText(`Invitation sent to ${bobEmail}.`);
  await expect(owner.page.getByRole('table').last()).toContainText(bobEmail);
  await owner.shot('invited');

  // Bob opens the emailed link, signs in, and joins.
  const ownerAccount = `${ownerEmail.split('@')[0]}'s account`;
  // The account's name is its creator's text: never in the subject, quoted beside the inviter.
  const mail = await waitForMessage(bobEmail, 'You are invited to an account on Terminus Hub');
  expect(mail.text).toContain(`The account's name, as ${ownerEmail} wrote it: "${ownerAccount}"`);
  await bob.page.goto(linkFrom(mail, '/invite'));
  await expect(bob.page).toHaveURL((url) => url.pathname === '/invite' && !url.search.includes('token'));
  await bob.shot('invitation');
  await bob.page.getByRole('button', { name: 'Sign in to accept' }).click();
  await expect(bob.page).toHaveURL((url) => url.pathname === '/sign-in/password');
  await expect(bob.page.getByLabel('Email', { exact: true })).toHaveValue(bobEmail);
  await bob.page.getByLabel('Password', { exact: true }).fill(bobPassword);
  await bob.page.getByRole('button', { name: 'Sign in' }).click();
  await expect(bob.page).toHaveURL((url) => url.pathname === '/invite');
  await bob.page.getByRole('button', { name: 'Join account' }).click();
  await expect(bob.page).toHaveURL((url) => url.pathname === '/home');
  await expect(bob.page.locator('body')).toContainText('Owner reports');
  await bob.shot('joined');
  await signOut(bob.page, bob.shot);

  // The next sign-in shows the picker with both accounts.
  await bob.page.getByLabel('Email', { exact: true }).fill(bobEmail);
  await bob.page.getByRole('button', { name: 'Continue' }).click();
  await bob.page.getByLabel('Password', { exact: true }).fill(bobPassword);
  await bob.page.getByRole('button', { name: 'Sign in' }).click();
  await expect(bob.page).toHaveURL((url) => url.pathname === '/accounts');
  await expectHeading(bob.page, 'Choose an account');
  const bobAccount = `${bobEmail.split('@')[0]}'s account`;
  await expect(bob.page.getByRole('button', { name: new RegExp(`^${ownerAccount}`) })).toBeVisible();
  await expect(bob.page.getByRole('button', { name: new RegExp(`^${bobAccount}`) })).toBeVisible();
  await bob.shot('picker');

  // Switching changes the workspaces shown.
  await pick(bob.page, ownerAccount);
  await expect(bob.page.getByRole('link', { name: 'Owner reports', exact: true })).toBeVisible();
  await bob.shot('owner-account');
  await bob.page.getByRole('link', { name: 'Switch account' }).click();
  await pick(bob.page, bobAccount);
  await expect(bob.page.getByRole('link', { name: 'Main', exact: true })).toBeVisible();
  await expect(bob.page.locator('body')).not.toContainText('Owner reports');
  await bob.shot('own-account');

  // The owner sees Bob as a member, and the join in the activity log.
  await owner.page.getByRole('link', { name: 'Members' }).click();
  await expect(owner.page.getByRole('table').first()).toContainText(bobEmail);
  await owner.page.getByRole('link', { name: 'Activity' }).click();
  await expect(owner.page.locator('body')).toContainText('member.joined');
  await owner.shot('activity');

  await owner.context.close();
  await bob.context.close();
});
