// The account's data in the web app, JavaScript off: a new person creates a workspace, adds a
// record, edits it and follows it back, at desktop width and on a 390px phone, where no page
// scrolls sideways (tables stack as cards).
import { expect, test, type Page } from '@playwright/test';
import { confirmFromMail, expectHeading, expectHome, newPassword, screenshots, signUp, uniqueEmail } from '../support/flows';

async function noSidewaysScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

for (const width of [1280, 390]) {
  test(`create a workspace and a record, edit it (${width}px)`, async ({ page }, testInfo) => {
    await page.setViewportSize({ width, height: 900 });
    const shot = screenshots(page, testInfo);
    const email = uniqueEmail(`data-${width}`);
    await signUp(page, shot, email);
    await confirmFromMail(page, shot, email, newPassword());
    await expectHome(page, shot);
    await noSidewaysScroll(page);

    await page.getByLabel('Name', { exact: true }).fill('Customers');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await expectHeading(page, 'Customers');
    await expect(page.locator('#workspace-id')).toHaveText(/^ws_[0-9a-z]+$/);
    await expect(page.locator('#curl-list')).toContainText('/api/v1/records?workspace_id=ws_');
    await noSidewaysScroll(page);
    await shot('workspace');

    await page.getByLabel('Data (a JSON object)').fill('{"name": "Ada"}');
    await page.getByRole('button', { name: 'Add record' }).click();
    await expectHeading(page, 'Record');
    await expect(page.locator('#record-data')).toContainText('"name": "Ada"');
    await page.getByLabel('Data (a JSON object)').fill('{"name": "Ada Lovelace"}');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status')).toHaveText('Record saved.');
    await expect(page.locator('#record-data')).toContainText('Ada Lovelace');
    await noSidewaysScroll(page);
    await shot('record');

    await page.getByRole('link', { name: 'Customers' }).click();
    await expect(page.locator('#records')).toContainText('Ada Lovelace');
    await noSidewaysScroll(page);
    await shot('records');
  });
}
