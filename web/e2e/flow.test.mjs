// End-to-end: a real `vindex serve` (managed PostgreSQL, embedded Dagu, models
// off) driven through Debian's Chromium. Sign up → upload a clip with known
// on-screen text → watch the steps finish live → search for the text → open
// the hit → the player is at the moment. Screenshots go to test-artefacts/.
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, chmodSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(process.env.VINDEX_BIN ?? join(here, "..", "..", "bin", "vindex"));
const artefacts = resolve(process.env.VINDEX_E2E_ARTEFACTS ?? join(here, "..", "test-artefacts"));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The moment the on-screen text appears in the clip.
const TEXT_AT = 4;

let tmp, server, serverExit, browser, baseURL;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (serverExit.done) throw new Error(`vindex serve exited (${serverExit.code}); see ${artefacts}/server.log`);
    try {
      if ((await fetch(url + "/readyz")).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`vindex serve not ready after ${timeoutMs} ms; see ${artefacts}/server.log`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  rmSync(artefacts, { recursive: true, force: true });
  mkdirSync(artefacts, { recursive: true });
  // The managed PostgreSQL runs as the postgres user when we are root: it
  // must be able to reach the data dir.
  tmp = mkdtempSync(join(tmpdir(), "vindex-e2e-"));
  chmodSync(tmp, 0o755);

  execFileSync("ffmpeg", [
    "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i",
    "color=c=white:s=640x360:r=25:d=8,drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf:" +
      `text='REFUND POLICY 42':fontsize=56:fontcolor=black:x=(w-tw)/2:y=(h-th)/2:enable='gte(t,${TEXT_AT})'`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
    join(tmp, "refund-policy.mp4"),
  ]);

  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  const log = createWriteStream(join(artefacts, "server.log"));
  server = spawn(bin, ["serve"], {
    env: {
      ...process.env,
      VINDEX_ADDR: `127.0.0.1:${port}`,
      VINDEX_DATA_DIR: join(tmp, "data"),
      VINDEX_TRANSCRIBER: "none",
      VINDEX_TEXT_EMBEDDER: "none",
      VINDEX_IMAGE_EMBEDDER: "none",
      VINDEX_MODEL_DOWNLOAD: "off",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  serverExit = { done: false, code: null };
  server.once("exit", (code, signal) => Object.assign(serverExit, { done: true, code: code ?? signal }));
  server.stdout.pipe(log);
  server.stderr.pipe(log);
  await waitReady(baseURL, 90_000);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (server && !serverExit.done) {
    // SIGTERM lets vindex stop its PostgreSQL and runner.
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    const timer = setTimeout(() => server.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("sign up, upload, watch ingest, search, open the moment", { timeout: 150_000 }, async () => {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = (name) => page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });

  // Signed out, the app sends us to log in; from there, sign up.
  await page.goto("/");
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await shot("01-login");
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Ada");
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByLabel("Password").fill("a long password");
  await shot("02-signup");
  await page.getByRole("button", { name: "Sign up" }).click();

  await page.getByRole("heading", { name: "No videos yet" }).waitFor();
  await shot("03-library-empty");

  await page.getByRole("link", { name: "Upload", exact: true }).click();
  await page.locator('input[type="file"]').setInputFiles(join(tmp, "refund-policy.mp4"));
  const opened = page.getByRole("link", { name: "Uploaded — open video" });
  await opened.waitFor({ timeout: 30_000 });
  await shot("04-upload");
  await opened.click();

  // The steps finish while we watch: the page is never reloaded.
  await page.getByRole("heading", { name: "refund-policy.mp4" }).waitFor();
  await shot("05-video-processing");
  await page.locator(".page-head [data-status=SUCCEEDED]").waitFor({ timeout: 90_000 });
  const steps = await page.locator(".step-list li").evaluateAll((els) => els.map((e) => e.dataset.status));
  assert.ok(steps.length > 0, "the page lists the pipeline's steps");
  for (const s of steps) assert.ok(s === "SUCCEEDED" || s === "SKIPPED", `step status ${s}`);
  await page.getByText("REFUND POLICY 42").first().waitFor({ timeout: 10_000 });
  await shot("06-video-ready");

  await page.getByRole("link", { name: "Library" }).click();
  await page.locator(".card [data-status=SUCCEEDED]").waitFor();
  await shot("07-library");

  await page.getByRole("link", { name: "Search", exact: true }).click();
  await page.getByLabel("Describe the moment you are looking for").fill("refund policy");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/\/search\?q=refund\+policy$/);
  const hit = page.locator(".hits li").first();
  await hit.waitFor();
  assert.match(await hit.locator("mark").first().innerText(), /refund/i, "matched words are highlighted");
  await shot("08-search");

  const link = hit.getByRole("link");
  const start = Number(await link.getAttribute("data-start"));
  assert.ok(Math.abs(start - TEXT_AT) <= 1.5, `the hit starts where the text appears (${start})`);
  await link.click();
  await page.waitForURL(new RegExp(`/videos/[^?]+\\?t=${start}`));
  const player = page.locator("video");
  await page.waitForFunction(
    (t) => {
      const v = document.querySelector("video");
      return v && v.readyState >= 1 && Math.abs(v.currentTime - t) < 0.25;
    },
    start,
    { timeout: 15_000 },
  );
  assert.ok(Math.abs((await player.evaluate((v) => v.currentTime)) - start) < 0.25);
  await shot("09-video-at-moment");

  // Search within this video: its moments seek the player.
  await page.getByLabel("Search this video").fill("refund policy");
  await page.getByRole("button", { name: "Find" }).click();
  const moment = page.getByRole("list", { name: "Moments in this video" }).getByRole("button").first();
  await moment.waitFor();
  const momentAt = Number(await moment.getAttribute("data-start"));
  await player.evaluate((v) => v.pause());
  await moment.click();
  await page.waitForFunction((t) => Math.abs(document.querySelector("video").currentTime - t) < 0.25, momentAt, { timeout: 5_000 });
  await shot("10-video-search");

  assert.deepEqual(problems, [], "no console errors");
  await context.close();
});

test("API tokens: the secret is shown once, works, and stops working when revoked", { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = (name) => page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });

  await page.goto("/signup");
  await page.getByLabel("Name").fill("Grace");
  await page.getByLabel("Email").fill("grace@example.com");
  await page.getByLabel("Password").fill("another long password");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "No videos yet" }).waitFor();

  await page.getByRole("link", { name: "Members" }).click();
  await page.getByRole("rowheader", { name: /Grace/ }).waitFor();
  await shot("11-members");

  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByRole("heading", { name: "No API tokens yet" }).waitFor();
  await page.getByLabel("Name").fill("e2e script");
  await page.getByRole("button", { name: "Create token" }).click();
  const secretField = page.getByLabel("Token secret");
  await secretField.waitFor();
  const secret = await secretField.inputValue();
  assert.ok(secret.length >= 20, "a secret is shown");
  await page.getByRole("rowheader", { name: "e2e script" }).waitFor();
  await shot("12-token-created");

  const workspaceId = await page.evaluate(async () => {
    const s = JSON.parse(localStorage.getItem("vindex.session"));
    const res = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${s.accessToken}` },
      body: JSON.stringify({ query: "{ me { workspaces { id } } }" }),
    });
    return (await res.json()).data.me.workspaces[0].id;
  });
  const asToken = async () => {
    const res = await fetch(baseURL + "/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: "query($id: ID!) { workspace(id: $id) { id } }", variables: { id: workspaceId } }),
    });
    return { status: res.status, body: await res.json() };
  };
  const ok = await asToken();
  assert.equal(ok.body.data?.workspace?.id, workspaceId, `the token works: ${JSON.stringify(ok.body)}`);

  // Shown once: after a reload only the prefix is left.
  await page.reload();
  await page.getByRole("rowheader", { name: "e2e script" }).waitFor();
  assert.equal(await page.getByLabel("Token secret").count(), 0, "the secret is not shown again");
  assert.equal(await page.getByText(secret).count(), 0);

  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Revoke e2e script" }).click();
  await page.getByText(/^Revoked/).waitFor();
  await shot("13-token-revoked");
  const revoked = await asToken();
  assert.ok(revoked.status === 401 || revoked.body.errors?.length || revoked.body.data?.workspace == null, `a revoked token is refused: ${JSON.stringify(revoked.body)}`);

  assert.deepEqual(problems, [], "no console errors");
  await context.close();
});
