#!/usr/bin/env python3
"""tests/layering.py — the include layering of the runtime (docs/ARCHITECTURE.md, "Layers").

Usage: layering.py SOURCE_ROOT ALLOW_LIST [LIBTROUPE_A]

Every #include "..." in a runtime folder is mapped to the folder of the
header. A file may include headers of its own folder and of folders on a
LOWER layer; an include of a header on the same layer in another folder or
on a higher layer fails, unless the (file, header) pair is in ALLOW_LIST.
The allow-list is debt: an entry that no longer occurs fails too, so that
the list can only shrink. A top-level folder holding C sources or headers
that is neither a layer nor an "anything goes" folder fails: a new folder
gets its place in the order first.

Given the static library, it also checks the calls under core/hooks.h:
no object of base/, mailbox/ or core/ calls a function that a folder
above it defines (core reaches the features only through sys->hooks). The
one exception is LINK_UP_ALLOWED.
"""
import os
import re
import shutil
import subprocess
import sys

# Bottom first. Folders on one line share a layer and may not include
# each other.
LAYERS = [
    ['include'],                # the public API: troupe/*.h, and the generated troupe_config.h
    ['base'],                   # the message body, memory, internal names, asserts, time
    ['mailbox'],
    ['core'],
    ['registry'],
    ['group'],                  # process groups: core's monitors and sends
    ['supervisor'],
    ['observe'],
    ['breaker'],                # registers its metrics with observe
    ['persistence'],
    ['cluster'],                # nodes, leases, the wire: uses persistence, registry, supervisor, core
    ['migrate'],
    ['trace'],                  # tracing: hooks into core, metrics through observe
    ['http'],
    ['runtime'],                # the composition root: creates and destroys every subsystem
]
# On top of everything: they may include any header and are not scanned.
TOP = {'tests', 'bench', 'examples', 'tools'}  # tools/: troupectl, an HTTP client
# Hold no C code of the library (checked: a .c/.h appearing there fails).
NO_CODE = {'docs', 'deploy', 'scripts', 'subprojects'}

RANK = {f: i for i, layer in enumerate(LAYERS) for f in layer}
# The folders whose calls go upward only through core/hooks.h.
UNDER_HOOKS = {'base', 'mailbox', 'core'}
# base/alloc.h declares it and core defines it: the allocator asks a system
# (opaque to mailbox/) its allocation mode.
LINK_UP_ALLOWED = {'troupei_alloc_mode_of'}
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


def object_folder(member):
    """core_actor.c.o (meson names an object after its path) -> core."""
    return member.split('_', 1)[0]


def link_errors(lib):
    """Calls from UNDER_HOOKS objects to symbols a higher folder defines."""
    nm = shutil.which('nm')
    if not nm:
        print('layering: no nm, the link check is skipped')
        return []
    out = subprocess.run([nm, lib], capture_output=True, text=True, check=True).stdout
    defs, uses, cur = {}, {}, None
    for line in out.splitlines():
        if line.endswith('.o:'):
            cur = line[:-1]
            continue
        p = line.split()
        if len(p) == 3 and p[1] in 'TDBRC':
            defs[p[2]] = object_folder(cur)
        elif len(p) == 2 and p[0] == 'U':
            uses.setdefault(cur, set()).add(p[1])
    bad = []
    for obj, syms in sorted(uses.items()):
        f = object_folder(obj)
        if f not in UNDER_HOOKS:
            continue
        for sym in sorted(syms - LINK_UP_ALLOWED):
            g = defs.get(sym)
            if g in RANK and g != f and RANK[g] > RANK[f]:
                bad.append(f'{obj}: calls {sym}, defined in {g}/: {f}/ reaches the folders above '
                           f'it only through core/hooks.h')
    return bad


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
    if len(sys.argv) > 3:
        bad += link_errors(sys.argv[3])
    for b in bad:
        print(b)
    print(f'layering: {len(seen)} known upward includes, {len(bad)} errors')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
