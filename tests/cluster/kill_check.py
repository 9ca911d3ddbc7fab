#!/usr/bin/env python3
"""tests/cluster/kill_check.py ACKS EVENTS KILLS [--min-rejoins N] [--min-epochs N]
— the kill test's checker.

ACKS: lines "ack <node> <epoch> <op> <seq> <ns> [<sender>]" (kill_node.c,
examples/cluster/node.c). EVENTS:
"<seq> <hex of (op u64, epoch u64), little-endian>" per journal row, by seq.
Checks: seqs contiguous from 1; no op stored twice; every acknowledged op
stored exactly once, at the seq it was acknowledged with and under the
epoch it was sent with; epochs never decrease along the journal; one node
per epoch; with --min-rejoins, at least N rejoins summed over the "stats"
lines (fenced nodes that joined again); with --min-epochs, acknowledgements
under at least N epochs. Prints the failover gaps (consecutive acknowledgements by
different nodes) and SUMMARY lines. Exit status 1 on any violation."""
import struct
import sys


def main():
    acks_path, events_path, kills = sys.argv[1], sys.argv[2], int(sys.argv[3])
    opts = dict(zip(sys.argv[4::2], map(int, sys.argv[5::2])))
    acks, fenced, failures, rejoins = [], 0, 0, 0
    for line in open(acks_path):
        f = line.split()
        if len(f) in (6, 7) and f[0] == "ack":  # 7th: the sending node (demo-cluster)
            acks.append((int(f[5]), f[1], int(f[2]), int(f[3]), int(f[4])))
        elif len(f) in (6, 8) and f[0] == "stats":  # 8: "... rejoins <n>"
            fenced += int(f[3])
            failures += int(f[5])
            rejoins += int(f[7]) if len(f) == 8 else 0
    events = []
    for line in open(events_path):
        seq, data = line.split()
        op, epoch = struct.unpack("<QQ", bytes.fromhex(data))
        events.append((int(seq), op, epoch))
    bad = []
    if [e[0] for e in events] != list(range(1, len(events) + 1)):
        bad.append("journal seqs are not contiguous from 1")
    by_op = {}
    for seq, op, epoch in events:
        if op in by_op:
            bad.append(f"op {op} stored twice (seq {by_op[op][0]} and {seq})")
        by_op[op] = (seq, epoch)
    for i in range(1, len(events)):
        if events[i][2] < events[i - 1][2]:
            bad.append(f"epoch decreases at seq {events[i][0]}")
    writers = {}
    for t, node, epoch, op, seq in acks:
        got = by_op.get(op)
        if got is None:
            bad.append(f"acknowledged op {op} ({node}, epoch {epoch}) is not stored")
        elif got != (seq, epoch):
            bad.append(f"op {op} acknowledged at seq {seq} epoch {epoch}, stored at {got}")
        writers.setdefault(epoch, set()).add(node)
    for epoch, nodes in writers.items():
        if len(nodes) > 1:
            bad.append(f"epoch {epoch} written by {sorted(nodes)}")
    acks.sort()
    gaps = [(b[0] - a[0]) / 1e6 for a, b in zip(acks, acks[1:]) if a[1] != b[1]]
    print(f"kill_check: {len(acks)} acknowledged, {len(events)} stored, "
          f"{len(writers)} epochs, gaps (ms): {', '.join(f'{g:.0f}' for g in gaps)}")
    if len(gaps) < kills:
        bad.append(f"{len(gaps)} changes of owner for {kills} kills")
    print(f"kill_check: journal writes refused for a stale epoch: {fenced}, failed transactions:"
          f" {failures}")
    print(f"kill_check: rejoins (fenced, then joined again): {rejoins}")
    if rejoins < opts.get("--min-rejoins", 0):
        bad.append(f"{rejoins} rejoins, wanted at least {opts['--min-rejoins']}")
    if len(writers) < opts.get("--min-epochs", 0):
        bad.append(f"{len(writers)} epochs acknowledged, wanted at least {opts['--min-epochs']}")
    print(f"SUMMARY bench=cluster_failover impl=troupe metric=fenced_writes value={fenced} unit=events")
    if gaps:
        print(f"SUMMARY bench=cluster_failover impl=troupe metric=gap_max value={max(gaps):.0f} unit=ms")
        print(f"SUMMARY bench=cluster_failover impl=troupe metric=gap_mean "
              f"value={sum(gaps) / len(gaps):.0f} unit=ms")
    for b in bad[:20]:
        print("kill_check: FAIL:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
