// The OAuth sign-in in a real browser, driven from tests/browser/test_sign_in_browser.py.
//
// Node plays a connector: the MCP TypeScript SDK's own client auth (`auth()` with an
// OAuthClientProvider) discovers the server from its 401, registers, and sends the user to the
// sign-in page. Headless Chromium plays the user: it opens that page (phone-sized first), pastes a
// token the backend refuses, then a good one, and agrees. The callback is caught in the browser;
// `auth()` exchanges the code and the connector calls a tool with its own access token. Facts go
// to the report as JSON; the Python test judges them. Screenshots go to ARTEFACTS.
import { randomUUID } from "node:crypto";
import { auth, Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { chromium } from "playwright-core";
import { runReporting } from "./report.mjs";

const config = JSON.parse(process.env.NEMO_SIGN_IN_TEST);
const facts = { steps: [], console: [] };
const step = (what) => { facts.steps.push([what, Date.now()]); console.error(`[sign-in-test] ${what}`); };

class Connector {
  // What a connector keeps: its registration, the PKCE verifier, the tokens.
  constructor() { this.state_ = randomUUID(); this.url = null; }
  get redirectUrl() { return config.redirect; }
  get clientMetadata() {
    return {
      client_name: "Connector (TypeScript SDK)", redirect_uris: [config.redirect],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() { return this.state_; }
  clientInformation() { return this.client_; }
  saveClientInformation(info) { this.client_ = info; }
  tokens() { return this.tokens_; }
  saveTokens(tokens) { this.tokens_ = tokens; }
  redirectToAuthorization(url) { this.url = url; }
  saveCodeVerifier(verifier) { this.verifier_ = verifier; }
  codeVerifier() { return this.verifier_; }
}

async function page_facts(page) {
  return page.evaluate(() => ({
    h1: document.querySelector("h1")?.textContent || "",
    error: document.querySelector(".error")?.textContent || "",
    text: document.body.innerText,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    stylesApplied: getComputedStyle(document.querySelector("main")).maxWidth !== "none",
  }));
}

// The server is started by the test just before this script: Chromium starts meanwhile.
async function serverReady() {
  const until = Date.now() + config.ready_s * 1000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${config.server}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not answer /readyz within ${config.ready_s} s`);
}

async function main() {
  step("launching chromium while the server starts");
  const launching = chromium.launchPersistentContext(config.profile, {
    executablePath: config.chromium, headless: true,
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  launching.catch(() => {});  // awaited below, where a failure is reported
  try {
    await signIn(launching);
  } finally {
    await launching.then((browser) => browser.close(), () => {});
  }
}

async function signIn(launching) {
  step("waiting for the server");
  await serverReady();
  const connector = new Connector();
  const serverUrl = `${config.server}/mcp`;
  step("auth(): discovery, registration, authorization URL");
  facts.first = await auth(connector, { serverUrl });
  facts.authorizationUrl = connector.url && connector.url.toString();

  const browser = await launching;
  const page = browser.pages()[0] || await browser.newPage();
  page.on("console", (m) => facts.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => facts.console.push(`pageerror: ${e.message}`));
  let callback = null;
  await page.route(`${config.redirect}**`, (route) => {
    callback = route.request().url();
    return route.fulfill({ status: 200, contentType: "text/html", body: "<p>back in the app</p>" });
  });

  step("the sign-in page on a phone");
  const shown = await page.goto(facts.authorizationUrl);
  facts.signInHeaders = shown.headers();
  facts.signIn = await page_facts(page);
  await page.screenshot({ path: `${config.artefacts}/sign-in-phone.png`, fullPage: true });

  step("the same page on a desktop window");
  await page.setViewportSize({ width: 720, height: 900 });
  await page.screenshot({ path: `${config.artefacts}/sign-in.png`, fullPage: true });

  step("a token the backend refuses");
  await page.fill("#token", config.refused_token);
  await Promise.all([page.waitForLoadState("load"), page.click("#sign-in")]);
  await page.waitForSelector(".error");
  facts.refused = await page_facts(page);
  facts.refusedHtmlHasToken = (await page.content()).includes(config.refused_token);

  await page.screenshot({ path: `${config.artefacts}/sign-in-refused.png`, fullPage: true });

  step("the user's token");
  await page.fill("#token", config.token);
  await Promise.all([page.waitForSelector("#allow"), page.click("#sign-in")]);
  facts.consent = await page_facts(page);
  facts.consentHtmlHasToken = (await page.content()).includes(config.token);
  await page.screenshot({ path: `${config.artefacts}/consent.png`, fullPage: true });

  step("allow");
  await page.click("#allow");
  for (let i = 0; i < 100 && !callback; i++) await new Promise((r) => setTimeout(r, 50));
  facts.callback = callback;

  step("auth(): the code for tokens");
  const back = new URL(facts.callback);
  facts.stateMatches = back.searchParams.get("state") === connector.state_;
  facts.second = await auth(connector, { serverUrl, authorizationCode: back.searchParams.get("code") });
  facts.accessPrefix = connector.tokens_.access_token.slice(0, 7);
  facts.tokensHaveUserToken = JSON.stringify(connector.tokens_).includes(config.token);

  step("a tool call with the connector's own token");
  const client = new Client({ name: "nemo-sign-in-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: connector }));
  try {
    const result = await client.callTool({ name: "get_timeline", arguments: {} });
    facts.toolIsError = Boolean(result.isError);
    facts.toolResult = result.structuredContent || null;
  } finally {
    await client.close();
  }
}

runReporting(main, facts, config, () => facts.steps.at(-1)?.[0]);

