#!/usr/bin/env python3
"""tests/docs/check_man.py BUILD_ROOT LIBTROUPE.so INCLUDE_DIR — every exported
function has its manual page, and every page its function.

The pages are those the build installs (meson-info/intro-installed.json:
man/meson.build generates them from the headers with scripts/mkman.py).
Fails naming
  - each function libtroupe.so exports (nm -D) that has no page;
  - each function a public header declares TROUPE_API that has no page;
  - each page whose function the library no longer exports;
  - each exported function no public header declares (it cannot be documented);
  - each page missing from the index troupe.3, or not built;
  - each page groff warns about (-man -ww: bad requests, escapes, macros).
Lists, without failing, the functions returning int whose comment names no
error code (mkman.py --missing-errors): their pages have no ERRORS section.
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'scripts'))
import mkman  # noqa: E402  (the generator's own reading of the headers)


def exported(lib):
    out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                         capture_output=True, text=True).stdout
    return {f[2] for f in (l.split() for l in out.splitlines())
            if len(f) == 3 and f[1] in 'TW' and f[2].startswith('troupe_')}


def installed_pages(build_root):
    """{function: built path} of the man3 pages the build installs."""
    with open(os.path.join(build_root, 'meson-info', 'intro-installed.json')) as f:
        installed = json.load(f)
    pages = {}
    for built, dest in installed.items():
        parts = dest.replace('\\', '/').split('/')
        if len(parts) >= 2 and parts[-2] == 'man3' and parts[-1].endswith('.3'):
            pages[parts[-1][:-2]] = built
    return pages


def lint(path):
    """groff's warnings for one page ('' when clean)."""
    r = subprocess.run(['groff', '-man', '-Tutf8', '-ww', '-z', path],
                       capture_output=True, text=True)
    return (r.stderr + ('' if r.returncode == 0 else f'exit {r.returncode}')).strip()


def problems(build_root, lib, include):
    headers = [os.path.join(include, h) for h in sorted(os.listdir(include)) if h.endswith('.h')]
    _, funcs = mkman.load(headers)
    declared = {f.name for f in funcs}
    exp = exported(lib)
    pages = installed_pages(build_root)
    index = pages.pop('troupe', None)
    bad = [f'{n}: exported by {os.path.basename(lib)}, but has no page' for n in sorted(exp - set(pages))]
    bad += [f'{n}: declared in a public header, but has no page' for n in sorted(declared - set(pages))]
    bad += [f'{n}.3: a page for a function the library does not export' for n in sorted(set(pages) - exp)]
    bad += [f'{n}: exported, but declared TROUPE_API in no public header (no page can say it)'
            for n in sorted(exp - declared)]
    if not index or not os.path.exists(index):
        return bad + ['troupe.3: the index page is not installed or not built']
    listed = set(re.findall(r'^\.BR (troupe_\w+) \(3\)$', open(index).read(), re.M))
    bad += [f'{n}: missing from the index troupe.3' for n in sorted(set(pages) - listed)]
    for name, path in sorted(pages.items()) + [('troupe', index)]:
        if not os.path.exists(path):
            bad.append(f'{name}.3: not built ({path})')
        elif shutil.which('groff'):
            warn = lint(path)
            bad += [f'{name}.3: groff: {warn}'] if warn else []
    return bad


def main(argv):
    if len(argv) != 3:
        print(__doc__.split('\n\n')[0], file=sys.stderr)
        return 2
    build_root, lib, include = argv
    bad = problems(build_root, lib, include)
    if not shutil.which('groff'):
        bad.append('groff not found: the pages were not checked (scripts/deps.sh test installs groff-base)')
    headers = [os.path.join(include, h) for h in sorted(os.listdir(include)) if h.endswith('.h')]
    _, funcs = mkman.load(headers)
    for name in mkman.missing_errors(funcs, mkman.read_errnos(headers)):
        print(f'note: {name} returns int but its comment names no error code')
    for b in bad:
        print('FAIL ' + b)
    print(f'check_man: {len(funcs)} functions declared, {len(exported(lib))} exported, '
          f'{len(bad)} problem(s)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
