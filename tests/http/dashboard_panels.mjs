// tests/http/dashboard_panels.mjs PAGE — pieces of the dashboard's new
// panels on a stand-in DOM (meson test 'http-dashboard-panels', suite
// 'http'; needs node, no browser): the adapters' actor share over the last
// 60 s from counter deltas (not since creation), a mailbox's fill clamped
// at 100 % with "+N parked" beyond, the journal's quantiles read from
// its histogram's buckets, and the worker pools' table. The clock is the test's (performance.now).
import { readFileSync } from "node:fs";

const page = readFileSync(process.argv[2], "utf8");
const take = (name) => {
  const m = page.match(new RegExp("^function " + name + "\\([^]*?^}\\n", "m"));
  if (!m) { console.error(`dashboard_panels: no function ${name} in the page`); process.exit(1); }
  return m[0];
};

class Node {
  constructor(tag) { this.tag = tag; this.children = []; this.className = ""; this.dataset = {};
                     this.style = {}; this._text = ""; this.classList = { add: (c) => { this.className += " " + c; } }; }
  set textContent(t) { this._text = String(t); this.children = []; }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  append(...xs) { for (const x of xs) this.children.push(typeof x === "string" ? { textContent: x } : x); }
}
const document = { createElement: (tag) => new Node(tag) };
let now = 0;
const performance = { now: () => now * 1000 };
const state = { adapters: new Map() };
const [windowShare, mailboxBar, quantile] = new Function("document", "performance", "state",
  "const WINDOW_S = 60;\n" + take("el") + take("windowShare") + take("mailboxBar") + take("quantile") +
  "\nreturn [windowShare, mailboxBar, quantile];")(document, performance, state);

let failed = 0;
const check = (ok, what) => { if (!ok) { console.error("not ok - " + what); failed++; } else console.log("ok - " + what); };
const near = (a, b) => Math.abs(a - b) < 1e-9;

// An adapter that served 1000 calls from legacy code, then switched: from
// then on every call goes to the actor. Since creation the share is low;
// over the last 60 s it is 100 %.
let w = windowShare({ name: "a", served_legacy: 1000, served_actor: 0, actor_share: 0 });
check(!w.recent && w.share === 0, "a first sample: no window yet, the server's share");
for (let t = 1; t <= 120; t++) {
  now = t;
  w = windowShare({ name: "a", served_legacy: 1000, served_actor: 10 * t, actor_share: (10 * t) / (1000 + 10 * t) });
}
check(w.recent && near(w.share, 1), "after the switch, the last 60 s are all the actor's: " + w.share);
check(state.adapters.get("a").length <= 62, "the samples kept stay bounded: " + state.adapters.get("a").length);
// a canary at 25 % of new calls for the next minute
for (let t = 121; t <= 181; t++) {
  now = t;
  w = windowShare({ name: "a", served_legacy: 1000 + 30 * (t - 120), served_actor: 1200 + 10 * (t - 120), actor_share: 0.5 });
}
check(w.recent && near(w.share, 0.25), "a 25 % canary shows 25 %, not the share since creation: " + w.share);
// no calls for a minute: the share since creation, marked so
for (let t = 182; t <= 250; t++) { now = t; w = windowShare({ name: "a", served_legacy: 2830, served_actor: 1810, actor_share: 0.39 }); }
check(!w.recent && w.share === 0.39, "an idle minute falls back to the server's share");

// the mailbox bar
let bar = mailboxBar({ depth: 5000, capacity: 4096 });
check(bar.children[0].style.width === "100.0%", "fill clamped at 100 %: " + bar.children[0].style.width);
check(bar.children[1].textContent === "4096/4096 +904 parked", "beyond capacity: " + bar.children[1].textContent);
bar = mailboxBar({ depth: 10, capacity: 1000 });
check(bar.children[0].style.width === "1.0%" && bar.children[1].textContent === "10/1000", "a normal fill: " + bar.children[1].textContent);
bar = mailboxBar({ depth: 0, capacity: 0 });
check(bar.children[0].style.width === "0.0%", "no capacity: no fill");

// quantiles from the journal's buckets (not cumulative; null is +Inf)
const h = { le: [0.001, 0.01, 0.1, null], counts: [90, 9, 1, 0] };
check(quantile(h, 0.5) === 0.001 && quantile(h, 0.99) === 0.01 && quantile(h, 1) === 0.1, "quantiles' bounds");
check(quantile({ le: [0.1, null], counts: [0, 0] }, 0.99) === null, "no commit: no quantile");
check(quantile({ le: [0.1, null], counts: [0, 5] }, 0.99) === null, "beyond the last bound: +Inf (null)");

// the worker pools' table, from /api/system's "pools"
const tbody = new Node("tbody");
tbody.replaceChildren = function () { this.children = []; };
const renderPools = new Function("document", "$", take("el") + take("renderPools") + "\nreturn renderPools;")(
  document, (id) => (id === "pools" ? tbody : null));
renderPools([
  { name: "default", blocking: false, workers: 2, max_workers: 2, cpu_set: "0-1", runq_length: 3, blocked: 1, parked: 0 },
  { name: "io", blocking: true, workers: 2, max_workers: 8, cpu_set: "", runq_length: 0, blocked: 2, parked: 0 },
]);
const cells = (tr) => tr.children.map((c) => c.textContent);
check(tbody.children.length === 2, "one row per pool: " + tbody.children.length);
check(JSON.stringify(cells(tbody.children[0])) === JSON.stringify(["default", "2", "0-1", "3", "1", "0"]),
      "a pool's row: name, workers, cpu set, run queue, blocking, parked: " + cells(tbody.children[0]));
check(JSON.stringify(cells(tbody.children[1])) === JSON.stringify(["io (blocking)", "2 / 8", "-", "0", "2", "0"]),
      "a blocking pool: its bound, no known CPU as -, blocked count: " + cells(tbody.children[1]));
check(tbody.children[1].children[4].className === "unhealthy" && tbody.children[0].children[4].className === "",
      "a pool whose every worker is in a handler is marked");
renderPools([]);
check(tbody.children.length === 0, "rows replaced, not appended");

if (failed) { console.error(failed + " failed"); process.exit(1); }
