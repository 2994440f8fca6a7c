import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium (`apt-get install -y chromium`), or `CHROMIUM_PATH`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

/**
 * Whether the browser tests can run here. Without a Chromium they print why and register nothing,
 * except in CI (`CI=true`), where a missing browser is a failure, not a skip.
 */
export function browserAvailability(): { available: true } | { available: false; reason: string; mustFail: boolean } {
  if (existsSync(CHROMIUM_PATH)) return { available: true }
  return {
    available: false,
    reason: `no Chromium at ${CHROMIUM_PATH} (install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH)`,
    mustFail: process.env.CI === 'true',
  }
}

/** Launches headless Chromium with what a shared, offline CI machine needs: no sandbox, GPU, QUIC or background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** Phone and desktop viewports the client must work at. */
export const PHONE = { width: 375, height: 740 } as const
export const DESKTOP = { width: 1280, height: 800 } as const
