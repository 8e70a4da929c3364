import { expect, test } from '@playwright/test';
import { expectHeading, newPassword, person, signIn, signUpAndConfirm, uniqueEmail } from '../support/flows';

// An owner creates a key on the keys page, rolls it (the new key is shown once), and the old
// key keeps working through its grace while both show in the list; then reports the new key
// as leaked through the public endpoint, and it is gone.

async function status(key: string): Promise<number> {
  const res = await fetch(`${process.env.BASE_URL}/api/v1/workspaces`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return res.status;
}

test('an owner rolls a key on the keys page and a leaked key can be reported', async ({ browser }, testInfo) => {
  const owner = await person(browser, testInfo, 'owner');
  const email = uniqueEmail('roller');
  const password = newPassword();
  await signUpAndConfirm(owner.page, owner.shot, email, password);
  await signIn(owner.page, owner.shot, email, password);

  await owner.page.getByRole('link', { name: 'API keys' }).click();
  await expectHeading(owner.page, 'API keys');
  await owner.page.getByLabel('Name').fill('nightly export');
  await owner.page.getByRole('button', { name: 'Create key' }).click();
  await expectHeading(owner.page, 'Your new API key');
  const oldKey = (await owner.page.locator('#new-key').textContent())?.trim() ?? '';
  expect(oldKey).toMatch(/^thub_[0-9A-Za-z]{32}$/);
  await owner.page.getByRole('link', { name: 'Done' }).click();

  await owner.page.getByRole('link', { name: 'Roll' }).click();
  await expectHeading(owner.page, 'Roll API key');
  await owner.page.getByLabel('The old key keeps working for').selectOption('24');
  await owner.shot('roll-form');
  await owner.page.getByRole('button', { name: 'Roll key' }).click();
  await expectHeading(owner.page, 'Your new API key');
  await expect(owner.page.getByRole('status')).toContainText('rolled. The old key works until');
  const newKey = (await owner.page.locator('#new-key').textContent())?.trim() ?? '';
  expect(newKey).toMatch(/^thub_[0-9A-Za-z]{32}$/);
  expect(newKey).not.toBe(oldKey);
  await owner.shot('rolled');

  expect(await status(oldKey)).toBe(200);
  expect(await status(newKey)).toBe(200);
  await owner.page.getByRole('link', { name: 'Done' }).click();
  const rows = owner.page.locator('table.keys tbody tr');
  await expect(rows).toHaveCount(2);
  // The old key shows when its grace ends (the Expires column); the new one never expires.
  await expect(rows.filter({ hasText: oldKey.slice(0, 9) }).locator('td[data-label="Expires"]')).toContainText('UTC');
  await expect(rows.filter({ hasText: newKey.slice(0, 9) }).locator('td[data-label="Expires"]')).toHaveText('Never');
  await owner.shot('both-listed');

  // Anyone can report a leaked key: no session, no key.
  const reported = await fetch(`${process.env.BASE_URL}/credentials/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ credentials: [newKey] }),
  });
  expect(reported.status).toBe(202);
  expect(await status(newKey)).toBe(401);
  await owner.page.reload();
  await expect(rows).toHaveCount(1);
  await owner.shot('after-report');
});
