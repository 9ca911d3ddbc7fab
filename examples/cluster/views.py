#!/usr/bin/env python3
"""examples/cluster/views.py LOG NODE OWNER — what the HTTP API of a demo node
says (examples/cluster/demo.sh, after the failover): GET /api/cluster/nodes and
GET /api/cluster/actors of NODE, printed; and OWNER's /metrics, which must
count the failover it took (troupe_cluster_failovers_total >= 1) and the
actors it owns. The ports are the nodes' "http <node> <port>" lines of LOG
(the last per node). Exit 1 if a view is missing or the failover is not
counted; 0 with a note when the build has no HTTP (no port in the log)."""
import json
import sys
import urllib.request


def ports(log):
    out = {}
    for line in open(log):
        f = line.split()
        if len(f) == 3 and f[0] == "http":
            out[f[1]] = int(f[2])
    return out


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def sample(page, name):
    for line in page.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def main():
    log, node, owner = sys.argv[1:4]
    p = ports(log)
    if node not in p or owner not in p:
        print("demo-cluster: no HTTP in this build: the API's views not shown")
        return 0
    nodes = json.loads(get(p[node], "/api/cluster/nodes"))
    actors = json.loads(get(p[node], "/api/cluster/actors?limit=10"))
    print(f"demo-cluster: GET /api/cluster/nodes on {node}: " + "; ".join(
        f"{n['name']} {n['state']} (incarnation {n['incarnation']}, lease age "
        f"{n['lease_age_ms']} ms, owns {n['actors_owned']})" for n in nodes["nodes"]))
    print(f"demo-cluster: GET /api/cluster/actors on {node}: " + "; ".join(
        f"{a['kind']}/{a['id']} on {a['node']} (epoch {a['epoch']}, {a['state']})"
        for a in actors["actors"]))
    page = get(p[owner], "/metrics")
    failovers = sample(page, "troupe_cluster_failovers_total")
    owned = sample(page, "troupe_cluster_actors_owned")
    fenced = sample(page, "troupe_cluster_fenced_writes_total")
    print(f"demo-cluster: /metrics of {owner}: troupe_cluster_failovers_total {failovers or 0:g}, "
          f"troupe_cluster_actors_owned {owned or 0:g}, troupe_cluster_fenced_writes_total "
          f"{fenced or 0:g}")
    ok = (failovers or 0) >= 1 and actors["total"] == 2 and len(nodes["nodes"]) == 3
    if not ok:
        print("demo-cluster: FAIL: the views or the failover count are not as expected")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
