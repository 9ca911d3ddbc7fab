// tests/http/dashboard_nodes.mjs PAGE — the dashboard's cluster nodes panel
// (meson test 'http-dashboard-nodes', suite 'http'; needs node, no browser).
//
// Takes the page's el() and renderNodes() out of PAGE and runs them against
// a small stand-in for the DOM with a reply shaped like GET
// /api/cluster/nodes: one row per node, this node marked, the state as a
// badge, "actors owned" as the count (0 included) and "-" when an older
// server sends null. Then renderClusterActors() with a reply shaped like GET
// /api/cluster/actors: a row per actor, its owner, state badge, epoch,
// whether the owner's lease is valid, failed starts, and the total.
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
const ids = { "cluster-box": new Node("section"), "cluster-name": new Node("span"), nodes: new Node("tbody"),
              "cluster-actors-box": new Node("section"), "cluster-actors-count": new Node("span"),
              "cluster-actors": new Node("tbody") };
const document = { getElementById: (id) => ids[id], createElement: (tag) => new Node(tag) };
const $ = (id) => document.getElementById(id);
const [renderNodes, renderClusterActors] = new Function("document", "$",
  take("el") + take("renderNodes") + take("renderClusterActors") +
  "\nreturn [renderNodes, renderClusterActors];")(document, $);

renderNodes({ cluster: "c1", self: "a", total: 2, nodes: [
  { name: "a", self: true, number: 1, incarnation: 3, state: "up", lease_age_ms: 41,
    lease_remaining_ms: 2958, actors_owned: 0 },
  { name: "b", self: false, number: 2, incarnation: 1, state: "expired", lease_age_ms: 4100,
    lease_remaining_ms: -1100, actors_owned: 2 },
  { name: "c", self: false, number: 3, incarnation: 1, state: "up", lease_age_ms: 10,
    lease_remaining_ms: 2990, actors_owned: null } ] });

let failed = 0;
const check = (ok, what) => { if (!ok) { console.error("not ok - " + what); failed++; } };
const rows = ids.nodes.children;
check(!ids["cluster-box"].hidden, "the panel shows");
check(ids["cluster-name"].textContent.includes("c1"), "the cluster's name");
check(rows.length === 3, "a row per node");
const cells = (r) => r.children.map((c) => c.textContent);
const [a, b, c] = rows.map(cells);
check(rows[0].dataset.node === "a" && a[0].includes("this node"), "this node is marked: " + a);
check(!b[0].includes("this node"), "another node is not marked: " + b);
check(a[2] === "up" && rows[0].children[2].children[0].className === "badge up", "state badge: " + a);
check(b[2] === "expired" && b[5] === "-1100 ms", "an expired node and its negative lease: " + b);
check(a[3] === "3" && a[4] === "41 ms", "incarnation and lease age: " + a);
check(a[6] === "0" && b[6] === "2", "actors owned, a 0 included: " + a[6] + " " + b[6]);
check(c[6] === "-", "actors owned null (an older server) shows '-', never 0: " + c[6]);

renderClusterActors({ cluster: "c1", self: "a", total: 3, offset: 0, limit: 2, actors: [
  { kind: "chain", id: "main", node: "b", epoch: 4, state: "active", live: true, fails: 0 },
  { kind: "engine", id: "main", node: "", epoch: 7, state: "parked", live: false, fails: 3 } ] });
const arows = ids["cluster-actors"].children;
const [x, y] = arows.map(cells);
check(!ids["cluster-actors-box"].hidden, "the actors panel shows");
check(ids["cluster-actors-count"].textContent.includes("3") &&
      ids["cluster-actors-count"].textContent.includes("first 2"), "the total and the page: " +
      ids["cluster-actors-count"].textContent);
check(arows.length === 2, "a row per actor");
check(arows[0].dataset.actor === "chain/main", "the row is the actor's: " + arows[0].dataset.actor);
check(x[0] === "chain" && x[1] === "main" && x[2] === "b" && x[4] === "4", "kind, id, node, epoch: " + x);
check(x[3] === "active" && arows[0].children[3].children[0].className === "badge active",
      "state badge: " + x);
check(x[5] === "valid" && x[6] === "0", "a live owner, no failed start: " + x);
check(y[2] === "-" && y[3] === "parked" && y[5] === "-" && y[6] === "3",
      "a parked actor: no owner, its failed starts: " + y);
if (failed) process.exit(1);
console.log("dashboard_nodes: the nodes panel renders " + rows.length + " nodes, the actors panel " +
            arows.length + " actors");
