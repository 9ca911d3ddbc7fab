#!/usr/bin/env python3
"""scripts/mkman.py — section 3 manual pages from the public headers.

    mkman.py --headers DIR              the headers DIR holds (*.h), one a line
    mkman.py --list HEADER...           the page names it would write, one a line
    mkman.py --outdir DIR HEADER...     write DIR/troupe_X.3 per function, DIR/troupe.3
    mkman.py --missing-errors HEADER... the functions whose comment names no error code

Every TROUPE_API declaration of include/troupe/*.h gets a page: its exact
prototype, the comment above it (shared by the declarations that follow it
without a blank line), the TROUPE_E* codes that comment names, and the
functions it mentions. "Errors: as troupe_tell" or "troupe_tell's errors"
in a comment pulls in troupe_tell's codes. A code followed by a parenthesis,
"TROUPE_EINVAL (NULL sys)", keeps that parenthesis as its explanation; the
others get the text of include/troupe/error.h. troupe.3 is the index (`man
troupe`): every header, its summary and its functions.

Run by man/meson.build at configure time (--list: the outputs) and at build
time; tests/docs/check_man.py imports it to read the same declarations.
"""
import glob
import os
import re
import sys

DECL_RE = re.compile(r'TROUPE_API\s+(?:TROUPE_NORETURN\s+)?(.*?)\b(troupe_\w+)\s*\((.*)\)\s*;$', re.S)
CODE_RE = re.compile(r'TROUPE_E[A-Z]+')
ERRNO_RE = re.compile(r'X\((\w+),\s*(-?\d+),\s*"([^"]*)"\)')
FUNC_REF_RE = re.compile(r'\btroupe_\w+\b')
INHERIT_RES = [re.compile(r'[Ee]rrors:?\s+as\s+(troupe_\w+)'),
               re.compile(r'(troupe_\w+)\'s errors'),
               re.compile(r'[Ee]rrors:?\s+(?:are\s+)?those\s+of\s+(troupe_\w+)')]
# The optional features whose headers a build may compile as stubs
# (meson_options.txt): the page says what a build without them answers.
FEATURES = {
    'cluster.h': '-Dcluster=disabled',
    'http.h': '-Dhttp=disabled',
    'flags.h': '-Dmigrate=disabled',
    'adapter.h': '-Dmigrate=disabled',
}


class Func:
    def __init__(self, name, ret, params, header, comment):
        self.name, self.ret, self.params = name, ret, params
        self.header, self.comment = header, comment

    def prototype(self, width=78):
        """The declaration as lines of at most width columns, parameters aligned."""
        ret = ' '.join(self.ret.split())
        head = ret + ('' if ret.endswith('*') else ' ') + self.name + '('
        params = [p.strip() for p in ' '.join(self.params.split()).split(',')]
        lines, cur = [], head
        for i, p in enumerate(params):
            piece = p + (',' if i + 1 < len(params) else ');')
            if cur.strip() and cur != head and len(cur) + 1 + len(piece) > width:
                lines.append(cur.rstrip())
                cur = ' ' * len(head)
            cur += ('' if cur.endswith('(') or not cur.strip() else ' ') + piece
        return lines + [cur]


def strip_comment(lines):
    """The text of a /* ... */ block, its ' * ' margins removed, indentation kept."""
    out = []
    for i, line in enumerate(lines):
        s = line.rstrip()
        s = s.lstrip()[2:] if i == 0 else s
        s = s[:-2].rstrip() if s.endswith('*/') else s
        m = re.match(r'^\s*\*(?!/) ?(.*)$', s) if i > 0 else None
        out.append(m.group(1) if m else s.strip())
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return out


def header_summary(comment):
    """'troupe/actor.h — behaviours, spawning.' gives 'behaviours, spawning'."""
    text = ' '.join(paragraphs(comment)[0]).split('—', 1)[-1].strip()
    return re.split(r'\.(\s|$)', text)[0]


def read_header(path):
    """(summary, [Func]) of one header."""
    lines = open(path, encoding='utf-8').read().split('\n')
    base = os.path.basename(path)
    funcs, comment, attached, summary = [], None, False, ''
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith('/*'):
            j = i
            while '*/' not in lines[j] and j + 1 < len(lines):
                j += 1
            comment, attached = strip_comment(lines[i:j + 1]), True
            if not summary and comment:
                summary = header_summary(comment)
            i = j + 1
            continue
        if s.startswith('TROUPE_API'):
            j = i
            while not lines[j].rstrip().endswith(';') and j + 1 < len(lines):
                j += 1
            m = DECL_RE.match(' '.join(l.strip() for l in lines[i:j + 1]))
            if m:
                funcs.append(Func(m.group(2), m.group(1), m.group(3), base,
                                  comment if attached else []))
            i = j + 1
            continue
        attached = False  # anything else ends the comment's reach, a blank line too
        i += 1
    return summary, funcs


def read_errnos(headers):
    """{'TROUPE_EINVAL': 'invalid argument', ...} in error.h's order."""
    for h in headers:
        if os.path.basename(h) == 'error.h':
            text = open(h, encoding='utf-8').read()
            return {'TROUPE_' + n: t for n, v, t in ERRNO_RE.findall(text) if n != 'OK'}
    return {}


def own_codes(func, errnos):
    text = ' '.join(func.comment)
    return [c for c in CODE_RE.findall(text) if c in errnos]


def codes_of(func, by_name, errnos, seen=None):
    """The codes func's comment names, and those of the functions it defers to."""
    seen = seen or set()
    seen.add(func.name)
    codes = own_codes(func, errnos)
    text = ' '.join(func.comment)
    for rx in INHERIT_RES:
        for ref in rx.findall(text):
            if ref in by_name and ref not in seen:
                codes += codes_of(by_name[ref], by_name, errnos, seen)
    order = list(errnos)
    return sorted(set(codes), key=order.index)


def missing_errors(funcs, errnos):
    """The functions returning int whose comment names no code (nor says it never fails)."""
    by_name = {f.name: f for f in funcs}
    return [f.name for f in funcs
            if ' '.join(f.ret.split()) == 'int' and not codes_of(f, by_name, errnos)
            and 'never fails' not in ' '.join(f.comment).lower()]


def explanation(func, code, errnos):
    """'TROUPE_EINVAL (NULL sys, ...)' in func's comment gives the parenthesis."""
    text = ' '.join(' '.join(func.comment).split())
    m = re.search(re.escape(code) + r'\s*\(((?:[^()]|\([^()]*\))*)\)', text)
    return m.group(1) if m else errnos[code]


def roff_text(s):
    """Escape one line of text for groff: backslashes, a leading dot, non-ASCII."""
    s = s.replace('\\', '\\e')
    s = ''.join(c if ord(c) < 128 else '\\[u%04X]' % ord(c) for c in s)
    s = s.replace('-', '\\-') if s.lstrip().startswith('-') else s
    if s.startswith(('.', "'")):
        s = '\\&' + s
    return s


def paragraphs(lines):
    """Split comment lines into paragraphs at blank lines."""
    paras, cur = [], []
    for line in lines:
        if line.strip():
            cur.append(line)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    return paras


def render_description(lines, header):
    """Prose is filled; a paragraph holding indented lines (code, tables) is kept as is.
    `name` becomes italic; "above" points at the header, where the types are."""
    out = []
    for para in paragraphs(lines):
        out.append('.PP')
        if any(l.startswith('  ') for l in para):
            out += ['.nf', '.RS 4'] + [roff_text(l) for l in para] + ['.RE', '.fi']
        else:
            out += [re.sub(r'`([^`]+)`', r'\\fI\1\\fP', roff_text(l.strip())) for l in para]
    if re.search(r'\babove\b', ' '.join(lines)):
        out += ['.PP', f'("Above" is the header, <troupe/{header}>: its overview and its types.)']
    return out


def page_head(name, title):
    return ['.\\" Generated by scripts/mkman.py from include/troupe/*.h: do not edit.',
            f'.TH {name.upper()} 3 "" "troupe" "troupe manual"',
            '.SH NAME', f'{roff_text(name)} \\- {roff_text(title)}']


def first_sentence(func):
    text = ' '.join(' '.join(func.comment).split())
    if not text:
        return 'a function of <troupe/' + func.header + '>'
    m = re.match(r'(.+?[.])(\s|$)', text)
    s = (m.group(1) if m else text).rstrip('.')
    if len(s) > 1 and s[0].isupper() and s[1].islower():
        s = s[0].lower() + s[1:]
    return s if len(s) <= 90 else s[:87].rsplit(' ', 1)[0] + '...'


def return_value(func, codes):
    ret = ' '.join(func.ret.split())
    if ret == 'void':
        return 'None.'
    text = ' '.join(func.comment)
    if ret == 'int' and codes:
        if re.search(r'\b(returns?|1 if|1 when|length|how many|count)\b', text, re.I):
            return ('As DESCRIPTION says; a negative value is one of the error codes '
                    'listed under ERRORS.')
        return '0 on success, or a negative error code listed under ERRORS.'
    return 'As DESCRIPTION says.'


def render_page(func, by_name, errnos):
    codes = codes_of(func, by_name, errnos)
    out = page_head(func.name, first_sentence(func))
    out += ['.SH SYNOPSIS', '.nf', f'.B #include <troupe/{func.header}>', '.PP',
           ] + [roff_text(l) for l in func.prototype()] + ['.fi', '.PP',
            'Link with \\fB\\-ltroupe\\fP (\\fBpkg\\-config \\-\\-libs troupe\\fP).',
            '.SH DESCRIPTION']
    out += render_description(func.comment, func.header) if func.comment else \
        ['.PP', 'The header has no comment for this function: see ' +
         f'<troupe/{func.header}> and the functions it names.']
    out += ['.SH RETURN VALUE', return_value(func, codes)]
    if codes:
        out += ['.SH ERRORS']
        for c in codes:
            out += ['.TP', '.B ' + c, roff_text(explanation(func, c, errnos))]
    elif 'never fails' in ' '.join(func.comment).lower():
        out += ['.SH ERRORS', 'None: it never fails.']
    feature = FEATURES.get(func.header)
    if feature:
        out += ['.SH NOTES', f'In a library built with \\fB{roff_text(feature)}\\fP this '
                'function is still exported (every build exports the same symbols): a call '
                'that needs the feature returns \\fBTROUPE_ENOTSUP\\fP, a NULL argument '
                f'still \\fBTROUPE_EINVAL\\fP; <troupe/{func.header}> says what the others answer.']
    refs = {r for r in FUNC_REF_RE.findall(' '.join(func.comment)) if r in by_name}
    siblings = [f.name for f in by_name.values() if f.header == func.header]
    if len(siblings) <= 12:  # a small header's functions go together
        refs.update(siblings)
    refs = sorted(refs - {func.name})
    out += ['.SH SEE ALSO', ',\n'.join(f'.BR {r} (3)' for r in refs + ['troupe'])]
    return '\n'.join(out) + '\n'


def render_index(headers_funcs):
    out = page_head('troupe', 'a C11 actor runtime: index of the API')
    out += ['.SH SYNOPSIS', '.nf', '.B #include <troupe/troupe.h>', '.fi', '.PP',
            'Link with \\fB\\-ltroupe\\fP (\\fBpkg\\-config \\-\\-cflags \\-\\-libs troupe\\fP).',
            '.SH DESCRIPTION',
            'Every public function has a page of its own in section 3, generated from the '
            'comments of the headers below.',
            'Every call that can fail returns 0 (or a count) on success and a negative '
            '\\fBTROUPE_E*\\fP code on failure: see',
            '.BR troupe_strerror (3).',
            'A new user starts with docs/TUTORIAL.md of the source tree; the design is in '
            'docs/ARCHITECTURE.md.']
    for header, (summary, funcs) in headers_funcs:
        if not funcs:
            continue
        out += [f'.SS <troupe/{header}>', roff_text(summary) + '.' if summary else '']
        for f in funcs:
            out += ['.TP', f'.BR {f.name} (3)', roff_text(first_sentence(f))]
    return '\n'.join(l for l in out if l != '') + '\n'


def load(headers):
    parsed = [(os.path.basename(h),) + read_header(h) for h in sorted(headers)]
    funcs = [f for _, _, fs in parsed for f in fs]
    return [(h, (s, fs)) for h, s, fs in parsed], funcs


def main(argv):
    if len(argv) < 2 or argv[0] not in ('--headers', '--list', '--outdir', '--missing-errors'):
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    if argv[0] == '--headers':
        print('\n'.join(sorted(glob.glob(os.path.join(argv[1], '*.h')))))
        return 0
    if argv[0] == '--outdir':
        outdir, headers = argv[1], argv[2:]
    else:
        outdir, headers = None, argv[1:]
    per_header, funcs = load(headers)
    by_name = {f.name: f for f in funcs}
    errnos = read_errnos(headers)
    if argv[0] == '--list':
        print('\n'.join(['troupe.3'] + [f.name + '.3' for f in funcs]))
        return 0
    if argv[0] == '--missing-errors':
        print('\n'.join(missing_errors(funcs, errnos)))
        return 0
    os.makedirs(outdir, exist_ok=True)
    for f in funcs:
        with open(os.path.join(outdir, f.name + '.3'), 'w', encoding='ascii') as out:
            out.write(render_page(f, by_name, errnos))
    with open(os.path.join(outdir, 'troupe.3'), 'w', encoding='ascii') as out:
        out.write(render_index(per_header))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
