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
else:
    errors.append('unknown mode ' + mode)

for e in errors:
    print(f'trace {mode}: FAIL {e}')
if not errors:
    print(f'trace {mode}: ok ({len(spans)} spans)')
sys.exit(1 if errors else 0)
