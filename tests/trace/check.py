#!/usr/bin/env python3
"""tests/trace/check.py MODE SPANS_JSONL PROG_OUTPUT — check what the OTLP
receiver decoded (tests/trace/receiver.js) against what trace_prog did."""
import json
import sys

mode, spans_file, prog_file = sys.argv[1:4]
spans = [json.loads(l) for l in open(spans_file) if l.strip()]
prog = dict(kv.split('=', 1) for line in open(prog_file) for kv in line.split() if '=' in kv)
errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)


def check_chain(json_mode):
    tid = prog['root'][3:35]
    mine = [s for s in spans if s['traceId'] == tid]
    expect(len(mine) == 9, f'9 spans in the trace, got {len(mine)}: {[s["name"] for s in mine]}')
    by_id = {s['spanId']: s for s in mine}
    roots = [s for s in mine if s['name'] == 'root']
    expect(len(roots) == 1 and roots[0]['parentSpanId'] == '', 'one root, no parent id (not zeros)')
    expect(roots and roots[0]['spanId'] == prog['root'][36:52], 'the root is the traceparent read out')
    # the tells: each span's parent is the one before, back to the root
    last = [s for s in mine if s['kind'] == 5 and s['attributes'].get('troupe.actor.type') == 'hop']
    expect(len(last) == 3, f'3 CONSUMER spans, got {len(last)}')
    kinds = []
    cur = None
    leaves = [s for s in last if not any(p['parentSpanId'] == s['spanId'] for p in mine)]
    expect(len(leaves) == 1, 'one end of the tell chain')
    if leaves:
        cur = leaves[0]
        while cur is not None:
            kinds.append(cur['kind'])
            cur = by_id.get(cur['parentSpanId']) if cur['parentSpanId'] else None
    expect(kinds == [5, 4, 5, 4, 5, 4, 1], f'C,P,C,P,C,P,root up the chain, got {kinds}')
    servers = [s for s in mine if s['kind'] == 2]
    expect(len(servers) == 1, 'one SERVER span')
    if servers:
        client = by_id.get(servers[0]['parentSpanId'])
        expect(client is not None and client['kind'] == 3, "the SERVER's parent is the CLIENT")
        expect(client is not None and client['parentSpanId'] == roots[0]['spanId'] if roots else False,
               "the CLIENT's parent is the root")
    for s in mine:
        expect(s['attributes'].get('troupe.node') == 'node-a', f'troupe.node on {s["name"]}')
        expect(s['attributes'].get('troupe.outcome') == 'ok', f'outcome ok on {s["name"]}')
        expect(s['json'] == json_mode, 'the encoding asked for')
    expect(int(prog['exported']) == 9, 'exported counted')


def check_cluster():
    tid = prog['root'][3:35]
    mine = [s for s in spans if s['traceId'] == tid]
    expect(len(mine) == 9, f'9 spans in the trace, got {len(mine)}: {[s["name"] for s in mine]}')
    by_id = {s['spanId']: s for s in mine}
    node = lambda s: s['attributes'].get('troupe.node')
    of = lambda kind, n: [s for s in mine if s['kind'] == kind and node(s) == n]
    roots = [s for s in mine if s['name'] == 'root']
    expect(len(roots) == 1 and roots[0]['parentSpanId'] == '' and node(roots[0]) == 'node-a',
           'one root on node-a, no parent id')
    root = roots[0]['spanId'] if roots else None
    # the tell: node-a's PRODUCER -> node-b's CONSUMER (srv)
    prod, cons = of(4, 'node-a'), of(5, 'node-b')
    expect(len(prod) == 1 and len(cons) == 1, f'one tell each way, got {len(prod)}, {len(cons)}')
    if prod and cons:
        expect(prod[0]['parentSpanId'] == root, "the PRODUCER's parent is the root")
        expect(cons[0]['parentSpanId'] == prod[0]['spanId'],
               "node-b's CONSUMER is a child of node-a's PRODUCER")
        expect(cons[0]['attributes'].get('troupe.actor.type') == 'srv', 'the CONSUMER is srv')
    # the ask and the call: node-a's CLIENT -> node-b's SERVER, one each
    clients, servers = of(3, 'node-a'), of(2, 'node-b')
    expect(len(clients) == 2 and len(servers) == 2, f'2 CLIENT, 2 SERVER: {len(clients)}, {len(servers)}')
    expect(sorted(s['parentSpanId'] for s in servers) == sorted(c['spanId'] for c in clients),
           "each SERVER on node-b is a child of its own CLIENT on node-a")
    for c in clients:
        expect(c['parentSpanId'] == root, "the CLIENT's parent is the root")
    for s in servers:
        c = by_id.get(s['parentSpanId'])
        # the same clock (one process): the reply comes while the SERVER
        # runs, so the CLIENT ends after it started (not a timing bound)
        expect(c is not None and int(c['end']) >= int(s['start']) >= int(c['start']),
               'the CLIENT span covers the wait for the reply')
    # the hop back: node-b's PRODUCER (in srv's span) -> node-a's CONSUMER
    back_p, back_c = of(4, 'node-b'), of(5, 'node-a')
    expect(len(back_p) == 1 and len(back_c) == 1, 'one tell back')
    if back_p and back_c and cons:
        expect(back_p[0]['parentSpanId'] == cons[0]['spanId'], "the tell back is inside srv's span")
        expect(back_c[0]['parentSpanId'] == back_p[0]['spanId'],
               "node-a's CONSUMER is a child of node-b's PRODUCER")
    for s in mine:
        expect(s['attributes'].get('troupe.outcome') == 'ok', f'outcome ok on {s["name"]}')


if mode in ('chain', 'json', 'retry'):
    check_chain(mode == 'json')
    if mode == 'retry':
        expect(int(prog['failures']) >= 1, 'the 503 counted as a failure')
elif mode == 'sample':
    roots = [s for s in spans if s['name'] == 'root']
    # 10000 roots at 0.25: mean 2500, sd 43; the bound is 11 sd wide
    expect(2250 <= len(roots) <= 2750, f'sampled roots {len(roots)} not in [2250, 2750]')
    expect(all(s['parentSpanId'] == '' for s in roots), 'roots have no parent id')
elif mode == 'restart':
    ev = [s for s in spans if 'troupe.actor.restart' in s['events']]
    expect(len(ev) == 1, f'one restart event, got {len(ev)}')
    if ev:
        failed = [s for s in spans if s['spanId'] == ev[0]['parentSpanId']]
        expect(len(failed) == 1 and failed[0]['attributes'].get('troupe.outcome') == 'failed'
               and failed[0]['attributes'].get('troupe.failure.kind') == 'error',
               'the restart hangs under the failed handling')
        expect(ev[0]['traceId'] == failed[0]['traceId'] if failed else False, 'same trace')
elif mode == 'call':
    tid = prog['root'][3:35]
    mine = [s for s in spans if s['traceId'] == tid]
    expect(len(mine) == 5, f'root, 2 CLIENT, 2 SERVER: got {[s["name"] for s in mine]}')
    expect(prog['unanswered'] == '-5', f"the unanswered ask timed out: {prog['unanswered']}")
    late = [s for s in mine if s['kind'] == 3 and s['attributes'].get('troupe.outcome') == 'failed']
    expect(len(late) == 1 and late[0]['attributes'].get('troupe.failure.kind') == 'timeout'
           and late[0]['attributes'].get('troupe.failure.code') == '-5',
           'the unanswered ask: its CLIENT span ends failed, by the timeout')
    cl = [s for s in mine if s['kind'] == 3 and s not in late]
    sv = [s for s in mine if s['kind'] == 2 and s['attributes'].get('troupe.message.type') == '2']
    expect(len(cl) == 1 and len(sv) == 1, 'one CLIENT, one SERVER of the call')
    if cl and sv:
        c, s = cl[0], sv[0]
        expect(s['parentSpanId'] == c['spanId'], "the SERVER's parent is the CLIENT")
        # one clock (CLOCK_REALTIME, one process): the caller ran the handler
        # itself, so the SERVER span ended before the call returned
        expect(int(c['start']) <= int(s['start']), 'the CLIENT starts first')
        expect(int(c['end']) >= int(s['end']),
               f"the CLIENT covers the wait: ends {c['end']} before the SERVER {s['end']}")
elif mode == 'failover':
    ev = [s for s in spans if 'troupe.actor.failover' in s['events']]
    expect(len(ev) == 2, f'two failover events, got {len(ev)}')
    for s in ev:
        expect(s['attributes'].get('troupe.failover.from') == 'node-x', 'the previous owner')
        expect(s['attributes'].get('troupe.actor.type') == 'account', 'the kind')
        expect(s['attributes'].get('troupe.node') == 'node-a', 'this node')
        expect(s['name'] == 'failover account', f'named {s["name"]}')
    tid = prog['root'][3:35]
    under = [s for s in ev if s['traceId'] == tid]
    alone = [s for s in ev if s['traceId'] != tid]
    expect(len(under) == 1 and under[0]['parentSpanId'] == prog['root'][36:52],
           'inside a root: a child of it, in its trace')
    expect(len(alone) == 1 and alone[0]['parentSpanId'] == '', 'outside: a root of its own')
elif mode == 'cluster':
    check_cluster()
else:
    errors.append('unknown mode ' + mode)

for e in errors:
    print(f'trace {mode}: FAIL {e}')
if not errors:
    print(f'trace {mode}: ok ({len(spans)} spans)')
sys.exit(1 if errors else 0)
