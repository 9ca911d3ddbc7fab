// tests/http/dashboard_urls.mjs PAGE — the dashboard's URLs for actor names
// (meson test 'http-dashboard-urls', suite 'http'; needs node, no browser).
//
// A browser resolves "." and ".." path segments before it sends a request —
// "%2E" and "%2E%2E" as well, per the URL standard — and encodeURIComponent
// leaves dots alone, so a button for an actor named ".." once posted to
// /api/actors/restart. This takes the page's actorUrl() out of PAGE, runs it,
// and parses each URL with node's URL (the WHATWG parser browsers follow):
// the request must still name the actor, in its path segment or in the
// `name` query parameter of /api/actor/{action}.
import { readFileSync } from "node:fs";

const page = readFileSync(process.argv[2], "utf8");
const src = page.match(/^function actorUrl\([^]*?^}\n/m);
if (!src) {
  console.error("dashboard_urls: no `function actorUrl(name, action)` in the page");
  process.exit(1);
}
const actorUrl = new Function(src[0] + "\nreturn actorUrl;")();

// The actor a server routing http/route.c's table would act on, or null.
function target(url, action) {
  if (url.pathname === "/api/actor/" + action) return url.searchParams.get("name");
  const m = url.pathname.match(/^\/api\/actors\/([^/]+)\/([a-z]+)$/);
  return m && m[2] === action ? decodeURIComponent(m[1]) : null;
}

let failed = 0;
const cases = [".", "..", "...", "a.b", "a/b", "x/../y", "%2E", "%2e%2e", "é ü", "q?x#y&z=1",
               "a+b", "worker-1"];
for (const name of cases) {
  for (const action of ["restart", "stop"]) {
    const url = new URL(actorUrl(name, action), "http://127.0.0.1:1/");
    const got = target(url, action);
    if (got !== name) {
      console.error(`${action} ${JSON.stringify(name)}: ${url.pathname}${url.search} acts on ${JSON.stringify(got)}`);
      failed++;
    }
  }
}
if (failed) process.exit(1);
console.log(`dashboard_urls: ${cases.length} names reach their actor`);
