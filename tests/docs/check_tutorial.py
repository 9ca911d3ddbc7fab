#!/usr/bin/env python3
"""tests/docs/check_tutorial.py TUTORIAL.md SOURCE... — every C block the
tutorial quotes (```c fences) is a run of whole lines of one of its programs,
character for character: the page cannot drift from the code that
tests/examples/test_tutorial.sh builds and runs. Fails naming each block
found in none of them (its first line and the page's line number).
"""
import re
import sys


def blocks(markdown):
    """(line number, [lines]) of each ```c block."""
    out, cur, start = [], None, 0
    for n, line in enumerate(markdown.split('\n'), 1):
        if cur is None and re.match(r'^```c\s*$', line):
            cur, start = [], n + 1
        elif cur is not None and line.startswith('```'):
            out.append((start, cur))
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


def quoted(block, sources):
    """True when block's lines appear, consecutive and whole, in a source."""
    k = len(block)
    return any(lines[i:i + k] == block for lines in sources for i in range(len(lines) - k + 1))


def main(argv):
    if len(argv) < 2:
        print(__doc__.split('\n\n')[0], file=sys.stderr)
        return 2
    page = open(argv[0], encoding='utf-8').read()
    sources = [open(p, encoding='utf-8').read().split('\n') for p in argv[1:]]
    found = blocks(page)
    bad = [(n, b) for n, b in found if not quoted(b, sources)]
    for n, b in bad:
        print(f'FAIL {argv[0]}:{n}: this block is in none of the programs: {b[0].strip()!r}')
    print(f'check_tutorial: {len(found)} C blocks, {len(bad)} not found in the programs')
    return 1 if bad or not found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
