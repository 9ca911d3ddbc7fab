// tests/http/dashboard_nodes.mjs PAGE — the dashboard's cluster nodes panel
// (meson test 'http-dashboard-nodes', suite 'http'; needs node, no browser).
//
// Takes the page's el() and renderNodes() out of PAGE and runs them against
// a small stand-in for the DOM with a reply shaped like GET
// /api/cluster/nodes: one row per node, this node marked, the state as a
// badge, and "actors owned" shown as "-" while the API says null (the count
// is unknown until the ownership layer exists: it must never read as 0).
import { readFileSync } from "node:fs";

const page = readFileSync(process.argv[2], "utf8");
const take = (name) => {
  const m = page.match(new RegExp("^function " + name + "\\([^]*?^}\\n", "m"));
  if (!m) { console.error(`dashboard_nodes: no function ${name} in the page`); process.exit(1); }
  return m[0];
};

class Node {
  constructor(tag) { this.tag = tag; this.children = []; this.className = ""; this.dataset = {};
                     this.hidden = true; this._text = ""; }
  set textContent(t) { this._text = String(t); this.children = []; }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  append(...xs) { for (const x of xs) this.children.push(typeof x === "string" ? { textContent: x } : x); }
  replaceChildren() { this.children = []; }
}
const ids = { "cluster-box": new Node("section"), "cluster-name": new Node("span"), nodes: new Node("tbody") };
const document = { getElementById: (id) => ids[id], createElement: (tag) => new Node(tag) };
const $ = (id) => document.getElementById(id);
const renderNodes = new Function("document", "$",
  take("el") + take("renderNodes") + "\nreturn renderNodes;")(document, $);

renderNodes({ cluster: "c1", self: "a", total: 2, nodes: [
  { name: "a", self: true, number: 1, incarnation: 3, state: "up", lease_age_ms: 41,
    lease_remaining_ms: 2958, actors_owned: null },
  { name: "b", self: false, number: 2, incarnation: 1, state: "expired", lease_age_ms: 4100,
    lease_remaining_ms: -1100, actors_owned: null } ] });

let failed = 0;
const check = (ok, what) => { if (!ok) { console.error("not ok - " + what); failed++; } };
const rows = ids.nodes.children;
check(!ids["cluster-box"].hidden, "the panel shows");
check(ids["cluster-name"].textContent.includes("c1"), "the cluster's name");
check(rows.length === 2, "a row per node");
const cells = (r) => r.children.map((c) => c.textContent);
const [a, b] = rows.map(cells);
check(rows[0].dataset.node === "a" && a[0].includes("this node"), "this node is marked: " + a);
check(!b[0].includes("this node"), "another node is not marked: " + b);
check(a[2] === "up" && rows[0].children[2].children[0].className === "badge up", "state badge: " + a);
check(b[2] === "expired" && b[5] === "-1100 ms", "an expired node and its negative lease: " + b);
check(a[3] === "3" && a[4] === "41 ms", "incarnation and lease age: " + a);
check(a[6] === "-" && b[6] === "-", "actors owned unknown shows '-', never 0: " + a[6] + " " + b[6]);
if (failed) process.exit(1);
console.log("dashboard_nodes: the nodes panel renders " + rows.length + " nodes");
