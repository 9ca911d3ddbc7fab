#!/usr/bin/env python3
"""tests/deploy/check_deploy.py SOURCE_ROOT — what promtool cannot check in deploy/.

Run by tests/deploy/check.sh after promtool has checked the config, the rules
and their unit tests. Fails (exit 1, one line per problem) when:

- the Grafana dashboard is not well-formed JSON, or not a usable dashboard:
  no panels, duplicate panel ids, overlapping or out-of-grid panels, a query
  without expr/refId, a $variable that is not defined, a data source other
  than the dashboard's ${datasource} variable;
- a dashboard query is not valid PromQL (promtool parses them all, with
  Grafana's variables replaced by values);
- the dashboard lacks one of the views it exists for (message rates by type,
  mailbox fill, latency quantiles, restarts by reason, health, breakers,
  per-worker runs/steals/run queue);
- a rule or a query names a troupe metric, or groups/filters by a label,
  that docs/METRICS.md does not define;
- an alert lacks its severity label or its summary/description, or
  alerts_test.yml does not test it both firing and not firing.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

problems = []


def fail(msg):
    problems.append(msg)


root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
p_metrics = os.path.join(root, "docs", "METRICS.md")
p_alerts = os.path.join(root, "deploy", "prometheus", "alerts.yml")
p_tests = os.path.join(root, "deploy", "prometheus", "alerts_test.yml")
p_dash = os.path.join(root, "deploy", "grafana", "troupe-dashboard.json")

# ---- the documented metrics and their labels ------------------------------
# Every `troupe_...` in backticks is a metric; `name{a,b}` gives its labels.
# A section heading's "(label `x`)" / "(labels `x`, `y`)" applies to the
# names of that section listed without braces.
metrics = {}  # name -> set of labels, or None when unknown
section_labels = set()
for line in open(p_metrics, encoding="utf-8"):
    if line.startswith("#"):
        section_labels = set()
        m = re.search(r"\(.*?labels? (.*)\)", line)
        if m:
            section_labels = set(re.findall(r"`([a-z_]+)`", m.group(1)))
            section_labels = {l for l in section_labels if not l.startswith("troupe_")}
        continue
    for name, labels in re.findall(r"`(troupe_[a-z0-9_]+)(?:\{([a-z_,]*)\})?`", line):
        got = set(filter(None, labels.split(","))) if labels else set(section_labels)
        metrics.setdefault(name, set()).update(got)
# A histogram's series: _bucket (with le), _sum, _count.
hist = re.findall(r"`(troupe_[a-z0-9_]+)` — histogram", open(p_metrics, encoding="utf-8").read())
for h in hist:
    base = metrics.pop(h, set())
    metrics[h + "_bucket"] = base | {"le"}
    metrics[h + "_sum"] = set(base)
    metrics[h + "_count"] = set(base)
if len(metrics) < 20:
    fail(f"{p_metrics}: found only {len(metrics)} metric names; has its format changed?")

# Labels Prometheus adds to every scraped series, and PromQL's own names.
target_labels = {"job", "instance"}


def check_expr(where, expr):
    """Metric names and label names of one PromQL expression."""
    names = set(re.findall(r"\b(troupe_[a-z0-9_]+)\b", expr))
    if not names and not re.search(r"\bup\b", expr):
        fail(f"{where}: no troupe metric in {expr!r}")
    allowed = set(target_labels)
    for n in names:
        if n not in metrics:
            fail(f"{where}: metric {n} is not defined in docs/METRICS.md")
        else:
            allowed |= metrics[n]
    used = set()
    for grp in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
        used |= {l.strip() for l in grp.split(",") if l.strip()}
    for sel in re.findall(r"\{([^}]*)\}", expr):
        used |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", sel))
    for label in sorted(used - allowed):
        fail(f"{where}: label {label!r} is not a label of {sorted(names) or ['up']} (docs/METRICS.md)")
    return used


# ---- alert rules and their unit tests --------------------------------------
rules_doc = yaml.safe_load(open(p_alerts, encoding="utf-8"))
alerts = {}
for g in rules_doc.get("groups", []):
    for r in g.get("rules", []):
        if "alert" not in r:
            continue
        name = r["alert"]
        where = f"alerts.yml: {name}"
        alerts[name] = r
        check_expr(where, r["expr"])
        if r.get("labels", {}).get("severity") not in ("warning", "critical"):
            fail(f"{where}: no severity label (warning or critical)")
        ann = r.get("annotations", {})
        for a in ("summary", "description"):
            if not ann.get(a):
                fail(f"{where}: no {a} annotation")
        for text in ann.values():
            for label in re.findall(r"\$labels\.([a-zA-Z_]+)", text):
                by = re.search(r"\b(?:by)\s*\(([^)]*)\)", r["expr"])
                ok = {l.strip() for l in by.group(1).split(",")} if by else (
                    target_labels | set().union(*[metrics.get(n, set()) for n in
                                                  re.findall(r"\b(troupe_[a-z0-9_]+)\b", r["expr"])]))
                if label not in ok:
                    fail(f"{where}: annotation uses $labels.{label}, which the expression does not keep")
if not alerts:
    fail("alerts.yml: no alerts")

tests_doc = yaml.safe_load(open(p_tests, encoding="utf-8"))
if os.path.basename(p_alerts) not in tests_doc.get("rule_files", []):
    fail("alerts_test.yml: does not load alerts.yml")
fires, quiet = set(), set()
for t in tests_doc.get("tests", []):
    for at in t.get("alert_rule_test", []) or []:
        name = at.get("alertname")
        if name not in alerts:
            fail(f"alerts_test.yml: test {t.get('name')!r} checks {name!r}, which alerts.yml does not define")
        (fires if at.get("exp_alerts") else quiet).add(name)
for name in sorted(alerts):
    if name not in fires:
        fail(f"alerts_test.yml: no test where {name} fires")
    if name not in quiet:
        fail(f"alerts_test.yml: no test where {name} does not fire")

# ---- the Grafana dashboard --------------------------------------------------
try:
    with open(p_dash, encoding="utf-8") as f:
        dash = json.load(f)
except (OSError, ValueError) as e:
    fail(f"{p_dash}: not well-formed JSON: {e}")
    dash = None

if dash is not None:
    if not isinstance(dash, dict):
        fail("dashboard: the top level is not an object")
        dash = {}
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        if key not in dash:
            fail(f"dashboard: no {key!r}")
    variables = {v.get("name") for v in dash.get("templating", {}).get("list", [])}
    builtins = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
    ds_ok = {"type": "prometheus", "uid": "${datasource}"}
    if "datasource" not in variables:
        fail("dashboard: no 'datasource' variable")

    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))  # collapsed rows keep theirs inside
    if not [p for p in panels if p.get("type") != "row"]:
        fail("dashboard: no panels")
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or None in ids:
        fail(f"dashboard: panel ids missing or not unique: {ids}")

    cells = {}
    exprs = []  # (where, expr)
    for p in panels:
        title = p.get("title", "?")
        where = f"dashboard panel {p.get('id')} {title!r}"
        g = p.get("gridPos", {})
        try:
            x, y, w, h = g["x"], g["y"], g["w"], g["h"]
        except KeyError:
            fail(f"{where}: incomplete gridPos {g}")
            continue
        if x < 0 or w <= 0 or h <= 0 or x + w > 24:
            fail(f"{where}: gridPos {g} outside the 24-column grid")
        for cx in range(x, x + w):
            for cy in range(y, y + h):
                if (cx, cy) in cells:
                    fail(f"{where}: overlaps panel {cells[(cx, cy)]!r}")
                    break
                cells[(cx, cy)] = title
            else:
                continue
            break
        if p.get("type") == "row":
            continue
        if p.get("datasource") != ds_ok:
            fail(f"{where}: data source {p.get('datasource')} is not the ${{datasource}} variable")
        targets = p.get("targets") or []
        if not targets:
            fail(f"{where}: no queries")
        refs = [t.get("refId") for t in targets]
        if None in refs or len(refs) != len(set(refs)):
            fail(f"{where}: refIds missing or not unique: {refs}")
        for t in targets:
            if not t.get("expr"):
                fail(f"{where}: a query without expr")
                continue
            if t.get("datasource", ds_ok) != ds_ok:
                fail(f"{where}: a query's data source is not the ${{datasource}} variable")
            exprs.append((f"{where} query {t.get('refId')}", t["expr"]))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            if a.get("datasource") != ds_ok:
                fail(f"dashboard annotation {a.get('name')!r}: data source is not the ${{datasource}} variable")
            exprs.append((f"dashboard annotation {a.get('name')!r}", a["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query" and v.get("datasource") != ds_ok:
            fail(f"dashboard variable {v.get('name')!r}: data source is not the ${{datasource}} variable")

    for where, e in exprs:
        for v in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", e):
            if v not in variables and v not in builtins:
                fail(f"{where}: ${v} is not a dashboard variable")
        check_expr(where, e)

    # What the dashboard is for.
    joined = "\n".join(e for _, e in exprs)
    wanted = {
        "message rates by type": r"by \(type\) \(rate\(troupe_messages_sent_total",
        "messages handled by type": r"by \(type\) \(rate\(troupe_messages_handled_total",
        "mailbox fill": r"troupe_mailbox_fill_ratio_max",
        "latency quantiles": r"histogram_quantile\(0\.99, sum by \(le\) \(rate\(troupe_handle_duration_seconds_bucket",
        "restarts by reason": r"by \(reason\) \((?:rate|increase)\(troupe_restarts_total",
        "actor health": r"troupe_actor_health\b",
        "unhealthy actors": r"troupe_actors_unhealthy\b",
        "breaker state": r"troupe_breaker_state\b",
        "runs per worker": r"by \(worker\) \(rate\(troupe_worker_runs_total",
        "steals per worker": r"by \(worker\) \(rate\(troupe_worker_steals_total",
        "run queue per worker": r"by \(worker\) \(troupe_worker_runq_length",
    }
    for what, rx in wanted.items():
        if not re.search(rx, joined):
            fail(f"dashboard: no panel shows {what} (/{rx}/)")

    # Every query must parse as PromQL: promtool reads them as recording
    # rules, with Grafana's variables given plausible values.
    subst = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
             "__interval_ms": "60000", "job": "troupe"}

    def fill(e):
        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: subst.get(m.group(1), ".*"), e)

    group = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": fill(e)} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(group, f)
        tmp = f.name
    try:
        r = subprocess.run(["promtool", "check", "rules", tmp], capture_output=True, text=True)
        if r.returncode != 0:
            out = r.stdout + r.stderr
            fail("dashboard: queries that are not valid PromQL:\n" + out)
            for m in re.finditer(r"rule (\d+)", out):
                i = int(m.group(1)) - 1
                if 0 <= i < len(exprs):
                    fail(f"  {exprs[i][0]}: {exprs[i][1]}")
    finally:
        os.unlink(tmp)
    print(f"dashboard: {len([p for p in panels if p.get('type') != 'row'])} panels, {len(exprs)} queries checked")

print(f"alerts: {len(alerts)} alerts, each tested firing and not firing")
for p in problems:
    print("FAIL:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
