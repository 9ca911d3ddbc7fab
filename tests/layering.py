#!/usr/bin/env python3
"""tests/layering.py — the include layering of the runtime (docs/ARCHITECTURE.md, "Layers").

Usage: layering.py SOURCE_ROOT ALLOW_LIST

Every #include "..." in a runtime folder is mapped to the folder of the
header. A file may include headers of its own folder and of folders on a
LOWER layer; an include of a header on the same layer in another folder or
on a higher layer fails, unless the (file, header) pair is in ALLOW_LIST.
The allow-list is debt: an entry that no longer occurs fails too, so that
the list can only shrink. A top-level folder holding C sources or headers
that is neither a layer nor an "anything goes" folder fails: a new folder
gets its place in the order first.
"""
import os
import re
import sys

# Bottom first. Folders on one line share a layer and may not include
# each other (observe and breaker are independent features).
LAYERS = [
    ['include'],                # the public API: troupe/*.h, and the generated troupe_config.h
    ['base'],                   # the message body, memory, internal names, asserts, time
    ['mailbox'],
    ['core'],
    ['registry'],
    ['supervisor'],
    ['observe', 'breaker'],
    ['persistence'],
    ['migrate'],
    ['http'],
    ['runtime'],                # the composition root: creates and destroys every subsystem
]
# On top of everything: they may include any header and are not scanned.
TOP = {'tests', 'bench', 'examples'}
# Hold no C code of the library (checked: a .c/.h appearing there fails).
NO_CODE = {'docs', 'deploy', 'scripts', 'subprojects'}

RANK = {f: i for i, layer in enumerate(LAYERS) for f in layer}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def header_folder(h):
    """The folder an #include "h" names: troupe/x.h lives in include/."""
    if '/' not in h:
        return 'include' if h == 'troupe_config.h' else None
    top = h.split('/', 1)[0]
    return 'include' if top == 'troupe' else top


def is_build_dir(path):
    return os.path.isdir(os.path.join(path, 'meson-private'))


def has_c(path):
    for d, subs, files in os.walk(path):
        subs[:] = [s for s in subs if not is_build_dir(os.path.join(d, s))]
        if any(f.endswith(('.c', '.h')) for f in files):
            return True
    return False


def sources(root, folder):
    for d, subs, files in os.walk(os.path.join(root, folder)):
        subs.sort()
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                yield os.path.relpath(os.path.join(d, f), root)


def scan(root):
    """(pairs seen, errors): every (file, header) that crosses folders."""
    seen, errors = set(), []
    for folder in RANK:
        for rel in sources(root, folder):
            with open(os.path.join(root, rel), encoding='utf-8', errors='replace') as fh:
                for n, line in enumerate(fh, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    h, hf = m.group(1), header_folder(m.group(1))
                    if hf not in RANK:
                        errors.append(f'{rel}:{n}: #include "{h}": folder {hf!r} is not in the layer order')
                    elif hf != folder and RANK[hf] >= RANK[folder]:
                        seen.add((rel, h))
                        errors.append((rel, h, n))
    return seen, errors


def new_folders(root):
    known = set(RANK) | TOP | NO_CODE
    out = []
    for e in sorted(os.listdir(root)):
        p = os.path.join(root, e)
        if e.startswith('.') or not os.path.isdir(p) or is_build_dir(p):
            continue
        if (e not in known or e in NO_CODE) and has_c(p):
            out.append(f'{e}/: C code in a folder that is not in the layer order (tests/layering.py LAYERS)')
    return out


def read_allow(path):
    allow = set()
    with open(path, encoding='utf-8') as fh:
        for line in fh:
            line = line.split('#', 1)[0].strip()
            if line:
                f, h = line.split()
                allow.add((f, h))
    return allow


def main():
    root, allow_path = sys.argv[1], sys.argv[2]
    allow = read_allow(allow_path)
    seen, errors = scan(root)
    bad = []
    for e in errors:
        if isinstance(e, str):
            bad.append(e)
        elif (e[0], e[1]) not in allow:
            bad.append(f'{e[0]}:{e[2]}: #include "{e[1]}": {header_folder(e[1])}/ is not below '
                       f'{e[0].split("/", 1)[0]}/ (see docs/ARCHITECTURE.md, Layers)')
    for f, h in sorted(allow - seen):
        bad.append(f'{allow_path}: "{f} {h}" no longer occurs: remove it from the list (it only shrinks)')
    bad += new_folders(root)
    for b in bad:
        print(b)
    print(f'layering: {len(seen)} known upward includes, {len(bad)} errors')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
