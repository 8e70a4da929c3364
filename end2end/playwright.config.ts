import { defineConfig, devices } from '@playwright/test';

// Browser tests for Terminus Hub. Global setup (support/global-setup.ts) starts the
// SMTP sink and the real server binary, and exports BASE_URL and SMTP_SINK_URL; the
// workers inherit them, so this file (re-evaluated in every worker) reads them here.
//
// Chromium comes from Debian (/usr/bin/chromium): `npx playwright install` cannot
// download browsers on these machines and must never be run.
export default defineConfig({
  testDir: './tests',
  outputDir: 'test-results',
  globalSetup: './support/global-setup.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // Argon2 (m=19 MiB, t=2) is slow in a debug build and the lockout test signs in
  // eight times: allow for it.
  timeout: 180_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { outputFolder: 'playwright-report', open: 'never' }]],
  use: {
    baseURL: process.env.BASE_URL,
    javaScriptEnabled: false,
    screenshot: 'on',
    trace: 'retain-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-gpu',
          ],
        },
      },
    },
  ],
});
