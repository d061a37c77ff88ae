/** Chromium for the browser specs: where Debian puts it, and how they launch it (playwright-core, headless). */
import type { Browser } from 'playwright-core';

/** The Debian package `chromium`; a browser spec skips, saying so, when it is absent. */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

/** Launches it, quiet and without the network calls of a first run; `extraArgs` after the usual ones. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...extraArgs] });
}
