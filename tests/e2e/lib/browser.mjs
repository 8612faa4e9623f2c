// The person's browser: Debian's Chromium driven by npm playwright-core (no downloaded
// browsers). Every response the browser sees is recorded so the tests can check statuses
// and headers of what the relay sent, including the 303 of a redirect delivery.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Nothing leaves the machine (oidc-provider's dev pages @import a web font).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
}

/**
 * A fresh browser profile (no cookies, so the authorization server asks for login and
 * consent again) that records every response: { url, status, method, headers }.
 */
export async function newSession(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const responses = [];
  const pending = [];
  context.on('response', (response) => {
    const entry = { url: response.url(), status: response.status(), method: response.request().method(), headers: null };
    responses.push(entry);
    pending.push(response.allHeaders().then((h) => { entry.headers = h; }, () => { entry.headers = response.headers(); }));
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  return {
    context,
    page,
    responses,
    /** All recorded responses, with their headers resolved. */
    async settled() {
      await Promise.all(pending);
      return responses;
    },
    close: () => context.close(),
  };
}

/** Opens the authorization URL and signs in on oidc-provider's login page; stops at consent. */
export async function signIn(page, authUrl, login = 'alice') {
  await page.goto(authUrl);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
}

/** On the consent page: accept ("Continue") or deny ("[ Cancel ]", which aborts the interaction). */
export async function consent(page, accept = true) {
  if (accept) await page.getByRole('button', { name: 'Continue' }).click();
  else await page.getByRole('link', { name: '[ Cancel ]' }).click();
}
