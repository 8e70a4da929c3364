// A new person's first session, each step reached from the page before it, at desktop width
// and on a 390px phone, with JavaScript on and off: sign up, create a workspace, add a record,
// create an API key, run the curl the page shows (a real process, against the real server),
// and read what happened in the activity log, in words.
import { execFileSync } from 'node:child_process';
import { expect, test, type Page } from '@playwright/test';
import { confirmFromMail, expectHeading, expectHome, newPassword, screenshots, signUp, uniqueEmail } from '../support/flows';

async function noSidewaysScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

for (const javaScriptEnabled of [false, true]) {
  test.describe(`JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled });
    for (const width of [1280, 390]) {
      test(`sign up, workspace, record, key, curl, activity (${width}px)`, async ({ page }, testInfo) => {
        await page.setViewportSize({ width, height: 900 });
        const shot = screenshots(page, testInfo);
        const email = uniqueEmail(`journey-${width}-${javaScriptEnabled ? 'js' : 'nojs'}`);
        await signUp(page, shot, email);
        await confirmFromMail(page, shot, email, newPassword());
        await expectHome(page, shot);

        // A workspace, from the home page.
        await page.getByLabel('Name', { exact: true }).fill('Orders');
        await page.getByRole('button', { name: 'Create workspace' }).click();
        await expectHeading(page, 'Orders');
        const workspaceId = ((await page.locator('#workspace-id').textContent()) ?? '').trim();
        expect(workspaceId).toMatch(/^ws_[0-9a-z]+$/);
        await noSidewaysScroll(page);

        // A record in it, from the workspace page.
        await page.getByLabel('Data (a JSON object)').fill('{"order": 1042, "total": "19.90"}');
        await page.getByRole('button', { name: 'Add record' }).click();
        await expectHeading(page, 'Record');
        await expect(page.locator('#record-data')).toContainText('"order": 1042');
        await shot('record');

        // A key, from the header's navigation; the page shows it once with a curl to try.
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
        await expectHeading(page, 'API keys');
        await noSidewaysScroll(page);
        await page.getByLabel('Name', { exact: true }).fill('journey script');
        await page.getByRole('button', { name: 'Create key' }).click();
        await expectHeading(page, 'Your new API key');
        await noSidewaysScroll(page);
        await shot('new-key');
        const curl = ((await page.locator('#new-key-curl').textContent()) ?? '').trim();
        expect(curl).toMatch(/^curl /);

        // The curl as shown, run by a shell: it lists the workspace just made.
        const output = execFileSync('sh', ['-c', curl], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
        const list = JSON.parse(output);
        expect(list.object).toBe('list');
        expect(list.data.map((w: { id: string }) => w.id)).toContain(workspaceId);

        // What happened, in the activity log, in plain words.
        await page.getByRole('link', { name: 'Done' }).click();
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
        await expectHeading(page, 'Activity');
        const log = page.locator('main');
        await expect(log).toContainText('created a workspace');
        await expect(log).toContainText('created a record');
        await expect(log).toContainText('created an API key');
        await expect(log).toContainText('journey script');
        await noSidewaysScroll(page);
        await shot('activity');
      });
    }
  });
}
