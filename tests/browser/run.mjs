// The browser check of the player App, driven from tests/browser/test_player_browser.py.
//
// Node plays the assistant and the host: an MCP client (the official TypeScript SDK) spawns the
// real server over stdio against the embedded local backend, makes a video (upload, edit,
// export), then opens the host page in headless Chromium, where the ext-apps host bridge renders
// export_video's App. It collects what the page shows as facts (JSON on stdout); the Python test
// judges them. Screenshots go to ARTEFACTS.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { runReporting } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(process.env.NEMO_BROWSER_TEST);
const facts = { steps: [] };
const step = (what) => { facts.steps.push([what, Date.now()]); console.error(`[browser-test] ${what}`); };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function data(result, what) {
  if (result.isError) throw new Error(`${what} failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent;
}

// The host page: the ext-apps host bridge bundled into host.html.
async function hostPage() {
  const bundle = await build({
    entryPoints: [join(here, "host.js")], bundle: true, write: false, format: "iife",
    platform: "browser", logLevel: "error",
  });
  return (await readFile(join(here, "host.html"), "utf8"))
    .replace("/*HOST*/", () => bundle.outputFiles[0].text.replaceAll("</script", "<\\/script"));
}

function launchChromium() {
  // A fresh profile folder each run (Playwright passes it as --user-data-dir).
  return chromium.launchPersistentContext(config.profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 860, height: 1000 },
    deviceScaleFactor: 1,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

async function main() {
  // Chromium and the host page are made while the server starts and renders (the same work,
  // side by side instead of one after the other).
  step("starting the server over stdio, chromium and the host page beside it");
  const launching = launchChromium();
  const bundling = hostPage();
  // Awaited later, where a failure is reported; handled now so Node never sees it unhandled.
  launching.catch(() => {});
  bundling.catch(() => {});
  try {
    await withServer(launching, bundling);
  } finally {
    await launching.then((browser) => browser.close(), () => {});
  }
}

async function withServer(launching, bundling) {
  const transport = new StdioClientTransport({
    command: config.command[0], args: config.command.slice(1), env: config.env, stderr: "inherit",
  });
  const client = new Client(
    { name: "nemo-browser-test", version: "1.0.0" },
    { capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } } } },
  );
  await client.connect(transport);
  const call = async (name, args = {}) =>
    client.callTool({ name, arguments: args }, { timeout: 90_000, resetTimeoutOnProgress: true, onprogress: () => {} });

  try {
    step("making the video: upload, edit, export");
    data(await call("upload_media", { paths: config.media }), "upload");
    data(await call("send_edit", { message: config.request }), "edit");
    const exportArgs = {};
    const exported = await call("export_video", exportArgs);
    facts.export = data(exported, "export");
    facts.exportContent = exported.content.map((c) => c.type);
    facts.exportMeta = exported._meta || null;

    step("opening the host page");
    const page_html = await bundling;
    const http = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page_html);
    });
    await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
    const hostUrl = `http://127.0.0.1:${http.address().port}/`;
    const browser = await launching;
    try {
      const page = browser.pages()[0] || await browser.newPage();
      const consoleLines = [];
      const log = (line) => { consoleLines.push(line); console.error(`[page] ${line}`); };
      page.on("console", (m) => log(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => log(`pageerror: ${e.message}`));
      facts.console = consoleLines;
      await page.exposeFunction("mcp", async (method, params) => {
        if (method === "tools/list") return client.listTools(params);
        if (method === "resources/read") return client.readResource(params);
        if (method === "tools/call") return client.callTool(params);
        throw new Error(`unexpected ${method}`);
      });
      await page.goto(hostUrl);

      step("rendering export_video's App");
      facts.shown = await page.evaluate(
        ([args, result]) => window.showApp("export_video", args, result), [exportArgs, exported],
      );
      const app = page.frameLocator("#app");
      await app.locator(".lane.track").first().waitFor({ timeout: 15_000 });
      facts.videoLoad = await app.locator("#video").evaluate((v) => new Promise((resolve) => {
        const state = (what) => resolve({ what, src: v.currentSrc, readyState: v.readyState,
          networkState: v.networkState, error: v.error && `${v.error.code} ${v.error.message}` });
        if (v.readyState >= 1) state("ready");
        v.addEventListener("loadedmetadata", () => state("loadedmetadata"), { once: true });
        v.addEventListener("error", () => state("error"), { once: true });
        setTimeout(() => state("timeout"), 15000);
      }));
      if (facts.videoLoad.what !== "ready" && facts.videoLoad.what !== "loadedmetadata") {
        throw new Error(`the video did not load: ${JSON.stringify(facts.videoLoad)}`);
      }

      const timeline = data(await call("get_timeline"), "get_timeline");
      facts.timeline = timeline;
      facts.tracksShown = await app.locator(".lane.track").evaluateAll((lanes) => lanes.map((l) => ({ ...l.dataset })));
      facts.readyShown = await app.locator("#ready").textContent();
      // get_timeline's picture of the draft (offline): decoded in the App, kept under the video.
      await app.locator('#draft[src^="data:image/jpeg;base64,"]').waitFor({ state: "attached", timeout: 15_000 });
      facts.draft = await app.locator("#draft").evaluate((img) => img.decode().then(() => ({
        width: img.naturalWidth, height: img.naturalHeight, stage: img.parentElement.className,
      })));

      step("playing the video");
      const frame = page.frame({ url: /about:srcdoc/ }) || page.frames()[1];
      facts.videoSrc = await app.locator("#video").evaluate((v) => v.currentSrc);
      await app.locator("#play").click();
      const times = [];
      for (let i = 0; i < 12; i++) {
        times.push(await app.locator("#video").evaluate((v) => v.currentTime));
        await sleep(150);
      }
      facts.currentTimes = times;
      facts.video = await app.locator("#video").evaluate((v) => ({
        paused: v.paused, error: v.error && v.error.code, width: v.videoWidth, height: v.videoHeight,
        duration: v.duration,
      }));
      await app.locator("#video").evaluate((v) => new Promise((resolve) => {
        v.pause();
        v.addEventListener("seeked", resolve, { once: true });
        v.currentTime = 1.5;  // a frame with the title on it
      }));
      facts.screenshots = [join(config.artefacts, "app-player.png")];
      await page.locator("#app").screenshot({ path: facts.screenshots[0] });

      // The same draft again would give back the same file (nothing to render): change it first.
      step("a second export of a changed draft");
      data(await call("send_edit", { message: config.secondEdit }), "second edit");
      facts.secondExport = data(await call("export_video"), "second export");

      // A draft long enough that its export is still running, however fast the machine, while
      // the App follows its progress (by its own polls) and then stops it with its Stop button.
      step("a third export, followed in the App");
      data(await call("send_edit", { message: config.thirdEdit }), "third edit");
      const third = call("export_video");
      const percents = [];
      let sawRunning = false;
      let refreshed = 0;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && percents.length < 2) {
        const jobs = await app.locator(".job").evaluateAll((items) => items.map((j) => ({ ...j.dataset })));
        const job = jobs.find((j) => j.kind === "export" && j.status === "running");
        if (job) {  // from here on the App reads the job again by itself while it runs
          sawRunning = true;
          if (job.percent !== "" && percents.at(-1) !== Number(job.percent)) percents.push(Number(job.percent));
        } else if (sawRunning) {
          break;
        } else if (Date.now() - refreshed > 500) {  // the user's Refresh until the export shows
          await app.locator("#refresh").click();
          refreshed = Date.now();
        }
        await sleep(100);
      }
      facts.exportPercents = percents;
      const shot = join(config.artefacts, "app-exporting.png");
      await page.locator("#app").screenshot({ path: shot });
      facts.screenshots.push(shot);

      step("the third export, stopped with the App's Stop button");
      const stopButton = app.locator('.job[data-kind="export"][data-status="running"] button.stop');
      await stopButton.waitFor({ timeout: 20_000 });
      facts.stopShot = join(config.artefacts, "app-stop.png");
      await page.locator("#app").screenshot({ path: facts.stopShot });
      await stopButton.click();
      facts.thirdExport = data(await third, "third export");
      await app.locator("#footer").filter({ hasText: "Stopped" }).waitFor({ timeout: 15_000 });
      facts.stopFooter = await app.locator("#footer").textContent();
      facts.jobsAfterStop = await app.locator(".job").evaluateAll((items) => items.map((j) => ({ ...j.dataset })));
      facts.calls = await page.evaluate(() => window.hostLog);
    } finally {
      http.close();
    }
  } finally {
    // The server before the browser: the stopped export goes on rendering until the server ends.
    await client.close();
  }
}

// A stuck step fails the run with what was seen so far, well before the test's own timeout.
runReporting(main, facts, config, () => facts.steps.at(-1)?.[0]);

