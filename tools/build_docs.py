#!/usr/bin/env python
"""Build the documentation site offline: notebooks -> nbdev processing -> Markdown -> MkDocs (Material) -> `_docs/`.

Quarto (which `nbdev_docs`, `nbdev_readme` and `nbdev_preview` need) is not available here, so this script does the
same job with what is:

1. every notebook under `nbs/` that has no stored outputs is executed (execnb `CaptureShell`, with `IN_TEST=1` unless
   `--full`, skipping the cells flagged with `tst_flags` from settings.ini, as `nbdev_test` does), so figures appear;
   executed notebooks are cached in `_proc/exec_cache/` by the hash of the notebook and the library;
   A notebook with stored outputs is shown as stored: `tools/full_outputs.py` (`make full-outputs`) stores the outputs
   of full runs, executed in a real Jupyter kernel, for the notebooks whose pages should show them;
   a cell that raises, an error output among stored outputs and a traceback printed by a cell are errors that name the
   notebook and the cell (`nbs/02_power.ipynb, cell 14 of 60 (id ...: first line): raised AssertionError: ...`); the
   page shows a one-line note in its place, never the traceback, and the build exits 1. Expected errors are shown with
   `test_fail`, which prints nothing;
2. nbdev's own processors (`nbdev.processors.FilterDefaults`, the ones `nbdev.serve.proc_nbs` uses) hide `#| hide`
   cells, turn `#| export` cells into `show_doc` signatures, remove directives and add links; a `show_doc` renders as
   the plain signature (annotations as written: no `NoneType` inferred from a `None` default), the docstring, and a
   table of the parameters whose docments (inline comments) are rendered Markdown (code, math, links);
3. each processed notebook becomes a Markdown page (outputs included, images extracted to files, a widget shown by the
   static outputs saved in its state, progress bars left out, math kept for `pymdownx.arithmatex` + MathJax, links to
   other pages made relative);
4. `mkdocs.yml` is written with a navigation mirroring `nbs/` (index first, then the modules in order, then
   `nbs/tutorials/`), and MkDocs + Material builds the static site into `_docs/`; links to a symbol with no heading of
   its own go to its class (`FiniteGroup.multiply` to `FiniteGroup`) or become plain text, the 404 page gets relative
   links, and every internal link and anchor of the site is checked (`check_links`); outputs are set apart from code
   (`nb-output` blocks, styled by `assets/extra.css`), pandas DataFrames take the site's table style, and images wider
   than the content column (`WIDE_PX`) fill it and link to the full-size file;
5. `README.md` is written from `nbs/index.ipynb` as stored (its saved outputs, never a new execution; the index page
   shows a new execution only when the notebook stores no outputs), so the README is the same on every machine and
   `make docs` leaves the git tree clean; it is rewritten only when its text changes;
6. the last guard (`check_pages`): no generated Markdown page, no HTML page and not the README contains
   `Traceback (most recent call last)` or the note left for an error output.

MathJax is served from the site itself when a pip package ships it (`django-static-mathjax`, whose `tex-svg.js`
needs no web fonts and so renders from `file://` too); otherwise the site loads it from a CDN.

Usage: `python tools/build_docs.py [--out _docs] [--no-exec] [--full] [--workers 2] [--force] [--readme README.md | --no-readme]`;
exit status 1 on a cell error, a traceback on a page or a broken link.
"""
from __future__ import annotations
import argparse, base64, concurrent.futures as cf, hashlib, json, multiprocessing as mp, os, re, shutil, subprocess
import sys, time, warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_CDN = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js'
_ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')
_WIDGET = 'application/vnd.jupyter.widget-view+json'
_WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'

# --------------------------------------------------------------------------------------------------------------------
# notebooks and pages

def _page_name(nb_path: Path, nbs: Path) -> Path:
    "Markdown page path (relative to the docs folder) of a notebook: nbdev's html name (numeric prefix dropped)."
    from nbdev.doclinks import _nbpath2html
    rel = nb_path.relative_to(nbs)
    return rel.parent / (_nbpath2html(Path(rel.name)).with_suffix('.md').name)

def _static_files(nbs: Path) -> list:
    "Files under `nbs/` that git tracks or would track (ignored run folders a notebook wrote are not part of the site); every file outside a git checkout."
    try:
        out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard', '.'], cwd=nbs, capture_output=True, text=True, check=True).stdout
        return [nbs / f for f in out.split('\0') if f]
    except (OSError, subprocess.CalledProcessError):
        return list(nbs.rglob('*'))

def find_notebooks(nbs: Path) -> list:
    "Notebooks in docs order: `index` first, then top-level notebooks by name, then each subfolder (e.g. tutorials/) by name."
    def ok(p): return not any(part.startswith(('.', '_')) for part in p.relative_to(nbs).parts)
    top = sorted(p for p in nbs.glob('*.ipynb') if ok(p))
    top.sort(key=lambda p: (p.stem != 'index', p.name))
    sub = sorted((p for p in nbs.glob('*/**/*.ipynb') if ok(p)), key=lambda p: (p.relative_to(nbs).parent.as_posix(), p.name))
    return top + sub

def _has_outputs(nb) -> bool:
    return any(c.get('outputs') for c in nb['cells'] if c['cell_type'] == 'code')

def _lib_hash() -> str:
    h = hashlib.sha1()
    for p in sorted((ROOT / 'group_agf').rglob('*.py')): h.update(p.read_bytes())
    return h.hexdigest()

# --------------------------------------------------------------------------------------------------------------------
# execution

def _execute(nb_path: Path, full: bool) -> tuple:
    "Execute a notebook like `nbdev_test` (skipping `tst_flags` cells); returns (nb dict with outputs, list of error strings)."
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    from nbdev.config import get_config
    from fastcore.xtras import working_directory
    flags = set(get_config().get('tst_flags', '').split())
    if full: os.environ.pop('IN_TEST', None)
    else: os.environ['IN_TEST'] = '1'
    run = NBProcessor(nb_path, procs=FrontmatterProc, process=True).nb
    def no_eval(cell):
        if cell.cell_type != 'code': return True
        d = getattr(cell, 'directives_', {}) or {}
        if d.get('eval:', [''])[0].lower() == 'false': return True
        return bool(flags & d.keys())
    errors = []
    nb = read_nb(nb_path)
    where = _cell_locator(nb_path, nb)
    sh = CaptureShell(nb_path, mpl_format='png')
    with working_directory(nb_path.parent):
        for cell in run.cells:
            if no_eval(cell): continue
            sh.cell(cell)
            if sh.exc: errors.append(f'{where(cell)}: raised {_exc_line(sh.exc)}'); sh.exc = None
    os.environ.pop('IN_TEST', None)
    code_out = [c.get('outputs', []) for c in run.cells if c.cell_type == 'code']
    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    if len(code_out) == len(code_cells):
        for c, o in zip(code_cells, code_out): c['outputs'] = o
    return nb, errors

TRACEBACK = 'Traceback (most recent call last)'
_ERROR_CLASS = 'nb-error'   # the class of the note that replaces an error output on a page (the page check looks for it too)

def _exc_line(e) -> str:
    "`ExcType: first line of the message`."
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0] if msg else ''}".rstrip(': ')

def _rel(nb_path: Path) -> str:
    "A notebook's path from the repository root (`nbs/02_power.ipynb`), or its name outside it."
    try: return Path(nb_path).resolve().relative_to(ROOT).as_posix()
    except ValueError: return Path(nb_path).name

def _cell_locator(nb_path: Path, nb=None):
    """`where(cell) -> 'nbs/x.ipynb, cell 12 (id ab12cd34: first line)'`: the notebook, the cell's 1-based position
    among all cells of the file (as JupyterLab lists them), its id and its first line of code."""
    rel = _rel(nb_path)
    cells = (nb.cells if nb is not None else json.loads(nb_path.read_text())['cells'])
    pos = {c.get('id'): i + 1 for i, c in enumerate(cells) if c.get('id')}
    n = len(cells)
    def where(cell, i=None) -> str:
        cid = cell.get('id') if hasattr(cell, 'get') else None
        k = pos.get(cid, i)
        first = next((l.strip() for l in _strip_directives(_text(cell.get('source') or '')).splitlines() if l.strip()), '')
        if len(first) > 60: first = first[:57] + '...'
        return f"{rel}, cell {k if k is not None else '?'} of {n}" + (f" (id {cid}: `{first}`)" if cid else f' (`{first}`)')
    return where

def _output_problems(outs) -> list:
    "What in a list of outputs must not reach a page: error outputs (`ExcType: message`) and text holding a traceback."
    bad = []
    for o in outs or []:
        t = o.get('output_type')
        if t == 'error': bad.append(f"error output {o.get('ename')}: {(_text(o.get('evalue') or '').strip().splitlines() or [''])[0]}".rstrip(': '))
        elif t == 'stream':
            if TRACEBACK in _ANSI.sub('', _text(o.get('text', ''))): bad.append(f"a traceback printed to {o.get('name', 'a stream')}")
        elif t in ('execute_result', 'display_data'):
            data = o.get('data', {}) or {}
            if any(TRACEBACK in _ANSI.sub('', _text(data.get(k, ''))) for k in ('text/plain', 'text/markdown', 'text/html')):
                bad.append('a traceback in a displayed output')
    return bad

def notebook_problems(nb, nb_path: Path) -> list:
    """Error outputs and tracebacks among a notebook's outputs (stored or executed), and inside the Output widgets its
    saved widget state holds: `(where, what)` pairs, `where` naming the notebook and the cell."""
    where = _cell_locator(nb_path)
    found = []
    widgets = ((nb.get('metadata') or {}).get('widgets') or {}).get(_WIDGET_STATE, {}).get('state', {}) if hasattr(nb, 'get') else {}
    for i, c in enumerate(nb['cells']):
        if c.get('cell_type') != 'code': continue
        outs = list(c.get('outputs') or [])
        for o in list(outs):
            mid = ((o.get('data') or {}).get(_WIDGET) or {}).get('model_id') if o.get('output_type') in ('execute_result', 'display_data') else None
            if mid: outs += _widget_outputs(widgets, mid)
        for b in _output_problems(outs): found.append((where(c, i + 1), b))
    return found

def page_problems(text: str) -> list:
    "What a generated page (Markdown or HTML) or README must not contain: a traceback, or the note left for an error output."
    bad = []
    if TRACEBACK in text: bad.append(f'contains "{TRACEBACK}"')
    if _ERROR_CLASS in text: bad.append('shows a cell error')
    return bad

# --------------------------------------------------------------------------------------------------------------------
# Markdown conversion

def _slug(s: str) -> str:
    from markdown.extensions.toc import slugify
    return slugify(s, '-')

def _cell_directives(cell) -> dict:
    "Directives of a processed cell: those nbdev already removed (`directives_`) plus `#|` lines left in the source."
    d = {k.rstrip(':'): v for k, v in (getattr(cell, 'directives_', None) or {}).items()}
    src = cell.get('source') or ''
    for line in src.splitlines():
        m = re.match(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: d[m.group(1)] = m.group(2).split()
        elif line.strip(): break
    return d

def _strip_directives(src: str) -> str:
    lines = src.splitlines()
    while lines and re.match(r'^\s*#\|', lines[0]): lines.pop(0)
    return '\n'.join(lines).strip('\n')

def _false(d, key): return d.get(key, [''])[0].lower() == 'false' if d.get(key) else False

def _fence(text: str, lang: str = '') -> str:
    n = 3
    while '`' * n in text: n += 1
    f = '`' * n
    return f'{f}{lang}\n{text.rstrip()}\n{f}'

def fix_markdown(md: str) -> str:
    """Make Jupyter (CommonMark-ish) Markdown safe for Python-Markdown: a blank line before lists, tables and `$$`
    blocks that follow a paragraph line, and after a closing `$$` line."""
    out, in_code, in_math = [], False, False
    lines = md.split('\n')
    for i, line in enumerate(lines):
        s = line.strip()
        prev = out[-1] if out else ''
        if s.startswith('```') or s.startswith('~~~'):
            in_code = not in_code
        elif not in_code:
            is_list = bool(re.match(r'^(\s{0,3})([*+-]|\d+[.)])\s+\S', line))
            prev_list = bool(re.match(r'^\s*([*+-]|\d+[.)])\s+', prev)) or prev.startswith((' ', '\t'))
            is_table = s.startswith('|')
            if prev.strip() and not in_math:
                if is_list and not prev_list: out.append('')
                elif is_table and not prev.strip().startswith('|'): out.append('')
                elif s.startswith('$$'): out.append('')
            if s.startswith('$$') or (in_math and s.endswith('$$')):
                opening = not in_math
                closes = s.endswith('$$') and (len(s) > 2 if opening else True)
                in_math = opening and not closes
                out.append(line)
                if not in_math and i + 1 < len(lines) and lines[i + 1].strip(): out.append('')
                continue
        out.append(line)
    return '\n'.join(out)

class _Links:
    "Rewrite nbdev's absolute doc links (`{doc_host}{doc_baseurl}/page.html#anchor`) for a page `depth` folders deep."
    def __init__(self, base: str, depth: int):
        self.base, self.up = base.rstrip('/') + '/', '../' * depth
        self.rx = re.compile(re.escape(self.base) + r'([\w./-]*?\.html)(#[^)\s"\']*)?')
    def __call__(self, text: str) -> str:
        def sub(m):
            anchor = m.group(2) or ''
            if anchor: anchor = '#' + '.'.join(_slug(p) for p in anchor[1:].split('.'))   # `fix_anchors` resolves dots
            return self.up + m.group(1) + anchor
        return self.rx.sub(sub, text)

def _text(v) -> str: return v if isinstance(v, str) else ''.join(str(x) for x in v)

def _tidy_signature(md: str) -> str:
    "Remove the blank lines nbdev's show_doc leaves inside signature code blocks; `f(\n    \n)` becomes `f()`."
    def fix(m):
        body = '\n'.join(l for l in m.group(2).split('\n') if l.strip())
        body = re.sub(r'\[(`[^`\]]+`)\]\([^)\s]*\)', r'\1', body)   # nbdev links are not clickable inside code
        body = re.sub(r'\(\n\)', '()', body)
        return m.group(1) + body + '\n' + m.group(3)
    return re.sub(r'(```python\n)(.*?)\n?(```)', fix, md, flags=re.S)

def _widget_outputs(state: dict, model_id: str, seen=None) -> list:
    "The outputs saved in the Output widgets inside a widget (its children, recursively), from a notebook's widget state."
    seen = set() if seen is None else seen
    m = state.get(model_id)
    if m is None or model_id in seen: return []
    seen.add(model_id)
    st = m.get('state', {})
    out = list(st.get('outputs') or []) if m.get('model_name') == 'OutputModel' else []
    for ch in st.get('children') or []:
        if isinstance(ch, str) and ch.startswith('IPY_MODEL_'): out += _widget_outputs(state, ch[len('IPY_MODEL_'):], seen)
    return out

WIDE_PX = 1100   # images wider than this are wider than the page's content column: shown at its full width, linked to the full size

def _png_size(raw: bytes):
    "(width, height) of PNG bytes, or None."
    ok = len(raw) >= 24 and raw[:8] == b'\x89PNG\r\n\x1a\n' and raw[12:16] == b'IHDR'
    return (int.from_bytes(raw[16:20], 'big'), int.from_bytes(raw[20:24], 'big')) if ok else None

def _image_md(src: str, size=None, alt: str = '', attr: str = '', note: bool = True) -> str:
    """Markdown of an image; one wider than `WIDE_PX` is shown at the full width of the content column (class
    `nb-wide`) as a link to the full-size file, with a line saying so below it when `note` (an image on a line of its own)."""
    if size and size[0] > WIDE_PX:
        md = f'[![{alt}]({src}){{ .nb-wide }}]({src}){{ target="_blank" title="Open the full-size image ({size[0]} × {size[1]} px)" }}'
        if note: md += f'\n\n[Full-size image ({size[0]} × {size[1]} px)]({src}){{ target="_blank" }}\n{{: .nb-wide-note }}'
        return md
    return f'![{alt}]({src}){attr}'

def _output_block(md: str, wrap: bool, extra: str = '') -> str:
    "An output (stream, value, image) inside `<div class=\"nb-output\">`, styled apart from code on the site; as is in the README."
    return f'<div class="nb-output{extra}" markdown="1">\n\n{md}\n\n</div>' if wrap else md

_DF_TABLE = re.compile(r'<table\b[^>]*\bclass="dataframe"[^>]*>')

def _dataframe_html(h: str) -> str:
    """A pandas DataFrame's HTML as one of the site's tables: its scoped style and the `border`/`class="dataframe"` of
    the table go, so that the theme's table style (`table:not([class])`) applies."""
    h = re.sub(r'<style scoped>.*?</style>\s*', '', h, flags=re.S)
    return _DF_TABLE.sub('<table>', h)

def _outputs_md(cell, img_dir: Path, img_rel: str, stem: str, n_img: list, images: bool, widgets: dict = None,
                wrap: bool = True) -> list:
    "Markdown of a code cell's outputs; an error output or a traceback becomes a short note naming the exception (the build then fails)."
    parts = []
    for o in cell.get('outputs', []):
        t = o.get('output_type')
        if t == 'stream':
            txt = _ANSI.sub('', _text(o.get('text', '')))
            if TRACEBACK in txt:   # never a traceback on a page
                parts.append(_output_block(f'**A traceback was printed here** (the docs build fails on it).', wrap, f' {_ERROR_CLASS}'))
            elif txt.strip(): parts.append(_output_block(_fence(txt, 'text'), wrap, ' nb-stderr' if o.get('name') == 'stderr' else ''))
        elif t == 'error':
            ev = (_ANSI.sub('', _text(o.get('evalue') or '')).strip().splitlines() or [''])[0]
            parts.append(_output_block(f"**This cell raised** `{o.get('ename')}: {ev}`".replace('``', '`'), wrap, f' {_ERROR_CLASS}'))
        elif t in ('execute_result', 'display_data'):
            data = o.get('data', {})
            if _WIDGET in data:   # a static site cannot run a widget: show what its output areas hold, if saved
                inner = _widget_outputs(widgets or {}, (data[_WIDGET] or {}).get('model_id', ''))
                if inner: parts.extend(_outputs_md({'outputs': inner}, img_dir, img_rel, stem, n_img, images, widgets, wrap))
                continue
            md = _text(data.get('text/markdown', ''))
            if any(TRACEBACK in _ANSI.sub('', _text(data.get(k, ''))) for k in ('text/plain', 'text/markdown', 'text/html')):
                parts.append(_output_block('**A traceback was displayed here** (the docs build fails on it).', wrap, f' {_ERROR_CLASS}'))
            elif 'text/markdown' in data and not ('text/html' in data and md.lstrip().startswith('```html')):   # fastprogress: its HTML, not a listing of it
                parts.append(_tidy_signature(md.strip()))
            elif 'image/png' in data or 'image/jpeg' in data or 'image/svg+xml' in data:
                if not images: continue
                n_img[0] += 1
                if 'image/svg+xml' in data: ext, raw = 'svg', _text(data['image/svg+xml']).encode()
                else:
                    ext = 'png' if 'image/png' in data else 'jpg'
                    raw = base64.b64decode(_text(data['image/png' if ext == 'png' else 'image/jpeg']))
                img_dir.mkdir(parents=True, exist_ok=True)
                name = f'{stem}_{n_img[0]}.{ext}'
                (img_dir / name).write_bytes(raw)
                meta = o.get('metadata', {}).get('image/png', {}) if ext == 'png' else {}
                attr = f'{{ width="{meta["width"]}" }}' if isinstance(meta, dict) and meta.get('width') else ''
                size = _png_size(raw) if ext == 'png' and not attr else None
                parts.append(_output_block(_image_md(f'{img_rel}/{name}', size, attr=attr), wrap, ' nb-image'))
            elif 'text/html' in data:
                h = _text(data['text/html'])
                if '<progress' in h or 'table.fastprogress' in h: continue   # progress bars: nothing to read on a static page
                if _DF_TABLE.search(h): h = _dataframe_html(h)
                parts.append('<div class="nb-output nb-html" markdown="0">\n' + h.strip() + '\n</div>')
            elif 'text/latex' in data: parts.append(_text(data['text/latex']).strip())
            elif 'text/plain' in data:
                txt = _ANSI.sub('', _text(data['text/plain']))
                if txt.strip(): parts.append(_output_block(_fence(txt, 'text'), wrap))
    return parts

_MD_IMG_FULL = re.compile(r'(?<!\[)!\[([^\]]*)\]\((?![a-zA-Z][\w+.-]*:|/|#)([^)\s]+)\)(?!\{)')

def _wide_images(md: str, src_dir: Path | None) -> str:
    "Images of a markdown cell (relative paths, resolved from the notebook's folder) wider than `WIDE_PX`: linked to the full size."
    if src_dir is None: return md
    def sub(m):
        f = src_dir / unquote(m.group(2))
        try: size = _png_size(f.read_bytes()[:24]) if f.suffix.lower() == '.png' and f.is_file() else None
        except OSError: size = None
        if not (size and size[0] > WIDE_PX): return m.group(0)
        a, b = m.string.rfind('\n', 0, m.start()) + 1, m.string.find('\n', m.end())
        alone = not (m.string[a:m.start()] + m.string[m.end():b if b >= 0 else None]).strip()   # the image on a line of its own
        return _image_md(m.group(2), size, m.group(1), note=alone and (b < 0 or not m.string[b + 1:].split('\n', 1)[0].strip()))
    out = []
    for chunk in re.split(r'(^```.*?^```)', md, flags=re.S | re.M):   # not inside fenced code
        out.append(chunk if chunk.startswith('```') else _MD_IMG_FULL.sub(sub, chunk))
    return ''.join(out)

_MD_IMAGE = re.compile(r'(!\[[^\]]*\]\()(?![a-zA-Z][\w+.-]*:|/|#)([^)\s]+)')

def _images_from(md: str, prefix: str) -> str:
    "`md` with relative image paths (`![alt](images/x.png)`) prefixed by `prefix` (README.md sits above `nbs/`)."
    return _MD_IMAGE.sub(lambda m: m.group(1) + prefix + m.group(2), md) if prefix else md

_HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
_SYMBOL_HEADING = re.compile(r'^\[?`([\w.]+)`\]?(?:\([^)\s]*\))?$')

def dedupe_symbol_headings(md: str) -> str:
    """One table-of-contents entry per symbol: a section heading that is only a symbol (`` ### `analyze_run` ``, often
    linked to itself by nbdev) followed in its section by that symbol's `show_doc` heading (`### analyze_run`) made
    two entries with the same name. The section heading keeps the entry and the anchor (`#analyze_run`), unlinked; the
    `show_doc` heading is written as HTML, which the table of contents leaves out."""
    lines, heads, fence = md.split('\n'), [], None
    for i, line in enumerate(lines):
        m = re.match(r'^\s*(`{3,}|~{3,})', line)
        if m:
            if fence is None: fence = m.group(1)
            elif m.group(1).startswith(fence): fence = None
            continue
        if fence is None and (h := _HEADING.match(line)): heads.append((i, len(h.group(1)), h.group(2)))
    for n, (i, level, text) in enumerate(heads):
        m = _SYMBOL_HEADING.match(text)
        if not m: continue
        sym = m.group(1)
        for j, lj, tj in heads[n + 1:]:
            if tj == sym:
                lines[i] = '#' * level + f' `{sym}`'
                lines[j] = f'<h{lj} class="nb-doc-heading">{html_escape(sym)}</h{lj}>'
                break
            if lj <= level: break
    return '\n'.join(lines)

def html_escape(s: str) -> str:
    import html
    return html.escape(s, quote=True)

def notebook_markdown(nb, page: Path, docs_dir: Path | None, base_url: str, relative_links=True, images=True,
                      image_prefix: str = '', src_dir: Path | None = None, wrap_outputs: bool = True) -> str:
    """Markdown of a processed notebook (title and description from its frontmatter); images go next to the page;
    relative image paths in markdown cells get `image_prefix`, and those wider than `WIDE_PX` (found from `src_dir`, the
    notebook's folder) link to the full size; outputs are wrapped in `nb-output` blocks unless `wrap_outputs` is False
    (the README)."""
    fm = getattr(nb, 'frontmatter_', {}) or {}
    links = _Links(base_url, len(page.parent.parts)) if relative_links else (lambda s: s)
    img_rel = f'{page.stem}_files'
    img_dir = (docs_dir / page.parent / img_rel) if docs_dir is not None else None
    out, n_img = [], [0]
    widgets = ((getattr(nb, 'metadata', None) or {}).get('widgets') or {}).get(_WIDGET_STATE, {}).get('state', {})
    if fm.get('title'): out.append(f"# {fm['title']}")
    if fm.get('description'): out.append(f"> {fm['description']}")
    for cell in nb.cells:
        src = cell.get('source')
        if cell.cell_type == 'markdown':
            if src and src.strip():
                for name, att in (cell.get('attachments') or {}).items():   # images pasted into markdown cells
                    if images and img_dir is not None:
                        mime, b64 = next(iter(att.items()))
                        img_dir.mkdir(parents=True, exist_ok=True)
                        (img_dir / name).write_bytes(base64.b64decode(_text(b64)))
                    src = src.replace(f'attachment:{name}', f'{img_rel}/{name}')
                md = fix_markdown(src.strip())
                if images and img_dir is not None: md = _wide_images(md, src_dir)
                out.append(links(_images_from(md, image_prefix)))
        elif cell.cell_type == 'code':
            d = _cell_directives(cell)
            if _false(d, 'include'): continue
            code = _strip_directives(src or '')
            if code.strip() and not _false(d, 'echo'): out.append(_fence(code, 'python'))
            if not _false(d, 'output'):
                out.extend(links(p) for p in _outputs_md(cell, img_dir, img_rel, 'cell', n_img, images and img_dir is not None,
                                                         widgets, wrap_outputs))
        elif cell.cell_type == 'raw':
            continue
    return dedupe_symbol_headings('\n\n'.join(out).rstrip()) + '\n'

# --------------------------------------------------------------------------------------------------------------------
# show_doc: signature, docstring, parameter table

def _table_cell(text: str) -> str:
    "Markdown for one table cell: `|` escaped outside code spans, written `\\vert{}` inside math; one line."
    out = []
    for part in re.split(r'(`+[^`]*`+|\$[^$]+\$)', str(text)):
        if part.startswith('`'): out.append(part)
        elif len(part) > 1 and part.startswith('$') and part.endswith('$'):
            out.append(part.replace('\\|', '\\Vert{}').replace('|', '\\vert{}'))   # no space before a closing $
        else: out.append(part.replace('|', '\\|'))
    return ' '.join(''.join(out).split('\n')).strip()

def _anno_str(a) -> str:
    import inspect
    if a is inspect.Parameter.empty: return ''
    return (a if isinstance(a, str) else inspect.formatannotation(a)).strip("'").replace(' ', '')

def _signature_md(sym, name: str, maxline: int = 110) -> str:
    "The signature as written (no docments comments, no types inferred from defaults), wrapped at `maxline`."
    import inspect
    from fastcore.docments import _show_param
    is_cls = inspect.isclass(sym)
    try: sig = inspect.signature(sym)
    except (TypeError, ValueError): return f"{'class' if is_cls else 'def'} {name.split('.')[-1]}(...)"
    params = list(sig.parameters.values())
    if '.' in name and params and params[0].name in ('self', 'cls') and not is_cls: params = params[1:]
    parts, star = [], False
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star: parts.append('*'); star = True
        if p.kind is p.VAR_POSITIONAL: star = True
        parts.append(_show_param(p))
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY): parts.append('/')
    ret = '' if is_cls else (f'->{_anno_str(sig.return_annotation)}' if sig.return_annotation is not sig.empty else '')
    head = f"{'class' if is_cls else 'async def' if inspect.iscoroutinefunction(sym) else 'def'} {name.split('.')[-1]}("
    one = head + ', '.join(parts) + ')' + ret
    if len(one) <= maxline: return one
    lines, cur = [], ''
    for q in parts:
        if cur and len(cur) + len(q) + 6 > maxline: lines.append(cur + ','); cur = q
        else: cur = f'{cur}, {q}' if cur else q
    if cur: lines.append(cur)
    return head + '\n    ' + '\n    '.join(lines) + '\n)' + ret

def _params_table(sym, dm: dict, name: str) -> str:
    "A Markdown table of the parameters (type as annotated, default, rendered docment) when any parameter has a docment."
    import inspect
    try: sig = inspect.signature(sym)
    except (TypeError, ValueError): sig = None
    params = [] if sig is None else [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in dm]
    if '.' in name and params and params[0].name in ('self', 'cls') and not inspect.isclass(sym): params = params[1:]
    docs = {k: (v or {}).get('docment') for k, v in dm.items()}
    if not any(docs.get(p.name) for p in params) and not docs.get('return'): return ''
    rows = ['| | **Type** | **Default** | **Details** |', '|---|---|---|---|']
    for p in params:
        anno = _anno_str(p.annotation)
        default = '' if p.default is p.empty else f'`{p.default!r}`'
        rows.append(f"| `{p.name}` | {f'`{anno}`' if anno else ''} | {default} | {_table_cell(docs.get(p.name) or '')} |")
    if docs.get('return'):
        ra = _anno_str(sig.return_annotation) if sig is not None and sig.return_annotation is not sig.empty else ''
        rows.append(f"| **Returns** | {f'`{ra}`' if ra else ''} | | {_table_cell(docs['return'])} |")
    return '\n'.join(rows)

def _show_doc_markdown(self) -> str:
    "`BasicMarkdownRenderer._repr_markdown_` for this site: source link, heading, signature, docstring, parameter table."
    from nbdev.doclinks import NbdevLookup
    from fastcore.docments import _ital_first
    doc = '---\n\n'
    src = NbdevLookup().code(self.fn)
    if src: doc += f'[source]({src}){{target="_blank" style="float:right; font-size:smaller"}}\n\n'
    doc += '#' * self.title_level + f' {self.nm}\n\n'
    doc += f"```python\n{_signature_md(self.sym, self.nm)}\n```"
    if self.docs: doc += f"\n\n{_ital_first(self.docs)}"
    tbl = _params_table(self.sym, getattr(self.dm, 'dm', {}) or {}, self.nm)
    if tbl: doc += '\n\n' + tbl
    return doc

def _use_site_show_doc():
    "Make nbdev's `show_doc` render with `_show_doc_markdown` in this process (the docs processing runs it here)."
    from nbdev.showdoc import BasicMarkdownRenderer
    BasicMarkdownRenderer._repr_markdown_ = _show_doc_markdown

# --------------------------------------------------------------------------------------------------------------------
# one notebook, in a worker process

def _init_worker(root: str):
    os.chdir(root)
    sys.path.insert(0, root)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    warnings.filterwarnings('ignore')

def _no_show_doc_exec():
    from nbdev.processors import FilterDefaults, exec_show_docs
    class NoExec(FilterDefaults):
        def base_procs(self): return [p for p in super().base_procs() if p is not exec_show_docs]
    return NoExec

def _NoShowDocExec(): return _no_show_doc_exec()()

def _site_filter():
    """nbdev's FilterDefaults, except that a cell which nbdev's `exec_show_docs` runs only because it imports something
    (not exported, no `exec_doc`, no `show_doc`) runs only its import statements: the page needs the names, not the
    cell's work (a stored-output cell that trains six runs would otherwise train them again while the page is made)."""
    import ast
    from execnb.nbio import NbCell
    from nbdev.processors import FilterDefaults, exec_show_docs, _do_eval, _show_docs
    class SiteExec(exec_show_docs):
        def __call__(self, cell):
            if getattr(cell, 'cell_type', None) == 'code' and cell.source and _do_eval(cell) \
               and not (cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'}):
                trees = cell.parsed_() or []
                if not _show_docs(trees):
                    imports = [ast.get_source_segment(cell.source, t) for t in trees if isinstance(t, (ast.Import, ast.ImportFrom))]
                    if len(imports) < len(trees):
                        c = NbCell(cell.idx_, dict(cell)); c.set_source('\n'.join(imports))
                        return super().__call__(c)
            return super().__call__(cell)
    class SiteFilter(FilterDefaults):
        def base_procs(self): return [SiteExec if p is exec_show_docs else p for p in super().base_procs()]
    return SiteFilter

_CACHE_VERSION = b'2'   # part of the execution cache key: bump when what the cache holds changes

def _process(nb, nb_path: Path, errors: list):
    "nbdev's FilterDefaults on a notebook (show_doc cells rendered here); on failure the page is kept without signatures and the failure is an error."
    import copy
    from nbdev.processors import FilterDefaults
    raw = copy.deepcopy(nb)
    _use_site_show_doc()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        os.environ['IN_TEST'] = '1'
        try: _site_filter()()(nb)
        except Exception as e:  # e.g. a module the notebook imports is missing: keep the page, without signatures
            errors.append(f'{_rel(nb_path)}: nbdev processing (show_doc, directives) failed: {_exc_line(e)}')
            nb = raw
            _NoShowDocExec()(nb)
        finally: os.environ.pop('IN_TEST', None)
    return nb

def render_notebook(nb_path: str, nbs: str, docs_dir: str, base_url: str, execute: bool, full: bool,
                    cache_dir: str, lib_hash: str) -> dict:
    """Execute (if it has no stored outputs), process with nbdev's FilterDefaults and write one Markdown page. Every
    cell that raised, every error output and every traceback among the outputs is an error naming the notebook and
    the cell (the page shows a one-line note instead). For `index.ipynb` also the README's Markdown, always from
    the notebook as stored (its saved outputs, never a new execution), so that it is the same on every machine."""
    from execnb.nbio import read_nb
    t0 = time.time()
    nb_path, nbs, docs_dir = Path(nb_path), Path(nbs), Path(docs_dir)
    page = _page_name(nb_path, nbs)
    nb = read_nb(nb_path)
    errors, executed = [], False
    if execute and not _has_outputs(nb):
        key = hashlib.sha1(nb_path.read_bytes() + lib_hash.encode() + str(full).encode() + _CACHE_VERSION).hexdigest()[:16]
        cached = Path(cache_dir) / f'{nb_path.stem}-{key}.ipynb'
        if cached.exists():
            saved = json.loads(cached.read_text())
            nb = read_nb(nb_path)
            from fastcore.xtras import dict2obj
            for c, o in zip([c for c in nb.cells if c.cell_type == 'code'], saved['outputs']): c['outputs'] = [dict2obj(x, list_func=list) for x in o]
            errors = saved['errors']
        else:
            nb, errors = _execute(nb_path, full)
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix('.tmp')
            tmp.write_text(json.dumps({'outputs': [c.get('outputs', []) for c in nb.cells if c.cell_type == 'code'],
                                       'errors': errors}))
            os.replace(tmp, cached)
        executed = True
    for loc, msg in notebook_problems(nb, nb_path):   # stored error outputs, and tracebacks printed by cells that did not raise
        if not any(e.startswith(loc + ': ') for e in errors): errors.append(f'{loc}: {msg}')
    nb = _process(nb, nb_path, errors)
    md = notebook_markdown(nb, page, docs_dir, base_url, src_dir=nb_path.parent)
    (docs_dir / page).parent.mkdir(parents=True, exist_ok=True)
    (docs_dir / page).write_text(md)
    readme = None
    if page.as_posix() == 'index.md':
        stored = read_nb(nb_path)   # the outputs saved in the notebook: the README does not depend on this machine
        if executed:
            for loc, msg in notebook_problems(stored, nb_path): errors.append(f'{loc}: {msg} (stored output)')
        stored = _process(stored, nb_path, errors if executed else [])
        readme = notebook_markdown(stored, page, None, base_url, relative_links=False, images=False,
                                   image_prefix=f'{nbs.name}/', wrap_outputs=False)
    title = (getattr(nb, 'frontmatter_', {}) or {}).get('title') or page.stem
    status = 'executed' if executed else ('stored outputs' if _has_outputs(read_nb(nb_path)) else 'not executed')
    return dict(nb=str(nb_path.relative_to(nbs)), page=page.as_posix(), title=title, executed=executed, status=status,
                errors=errors, seconds=round(time.time() - t0, 1), readme=readme)

# --------------------------------------------------------------------------------------------------------------------
# site

_EXTRA_CSS = """
.md-grid { max-width: 1440px; }
.md-typeset h3 { margin-top: 1.6em; }
.md-typeset pre > code { font-size: .78rem; }
.md-typeset img { max-width: 100%; height: auto; }
.md-typeset td code { white-space: nowrap; }
.md-typeset blockquote { color: var(--md-default-fg-color--light); border-left-color: var(--md-primary-fg-color); }
/* the outputs of a code cell, set apart from the code (grey blocks): white, a coloured rule on the left, a small label */
.md-typeset .nb-output { margin: -.45em 0 1.2em; padding: .1em 0 .1em .9rem; border-left: .2rem solid #7986cb;
  background: #fff; overflow-x: auto; overflow-y: hidden; }
.md-typeset .nb-output:not(.nb-image)::before { content: "output"; display: block; margin: .25em 0 0; font-size: .55rem;
  letter-spacing: .06em; text-transform: uppercase; color: #7986cb; }
.md-typeset .nb-output .highlight, .md-typeset .nb-output pre { margin: .1em 0; }
.md-typeset .nb-output pre > code { background: transparent; box-shadow: none; padding: .3em 0; color: var(--md-default-fg-color); }
.md-typeset .nb-output p { margin: .4em 0; }
.md-typeset .nb-output.nb-stderr { border-left-color: #ffb74d; }
.md-typeset .nb-output.nb-stderr::before { content: "output (stderr)"; color: #e65100; }
.md-typeset .nb-output.nb-error { border-left-color: #e53935; background: #fdecea; }
/* figures wider than the column: the full width, a link to the full-size image */
.md-typeset img.nb-wide { display: block; width: 100%; cursor: zoom-in; }
.md-typeset .nb-wide-note { margin: .2em 0 .8em; font-size: .64rem; }
/* pandas DataFrames rendered as the site's tables (their own style and border are removed) */
.md-typeset .nb-html table:not([class]) { margin: .4em 0; font-size: .64rem; }
.md-typeset .nb-html table:not([class]) th, .md-typeset .nb-html table:not([class]) td {
  padding: .35em .9em; vertical-align: middle; white-space: nowrap; }
.md-typeset .nb-html table:not([class]) td, .md-typeset .nb-html table:not([class]) thead th {
  font-variant-numeric: tabular-nums; text-align: right; }
.md-typeset .nb-html table:not([class]) th { min-width: 0; }
/* the theme's wrappers of a table (negative margins, padding), inside the output's own scroll */
.md-typeset .nb-output .md-typeset__scrollwrap { margin: .4em 0; padding: 0; }
.md-typeset .nb-output .md-typeset__table { padding: 0; }
"""

_MATHJAX_CONFIG = """window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]], processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex|md-ellipsis|md-nav__link"},
  svg: {fontCache: "global"}
};
"""

def _local_mathjax() -> Path | None:
    "tex-svg.js from an installed pip package that ships MathJax 3 (django-static-mathjax), if any."
    import importlib.util
    spec = importlib.util.find_spec('mathjax')
    for loc in (spec.submodule_search_locations or []) if spec else []:
        p = Path(loc) / 'static' / 'mathjax' / 'es5' / 'tex-svg.js'
        if p.exists(): return p
    return None

def _yaml_str(s: str) -> str: return json.dumps(s)

def write_mkdocs_yml(path: Path, docs_dir: Path, site_dir: Path, pages: list, cfg, mathjax_js: str) -> Path:
    "mkdocs.yml with nav mirroring nbs/: index, modules in order, then one section per subfolder (e.g. Tutorials)."
    nav, sections = [], {}
    for p in pages:
        folder = str(Path(p['page']).parent)
        title = 'Overview' if p['page'] == 'index.md' else p['title']
        entry = f"  - {_yaml_str(title)}: {_yaml_str(p['page'])}"
        if folder == '.': nav.append(entry)
        else: sections.setdefault(folder, []).append('  ' + entry)
    for folder, entries in sections.items():
        nav.append(f"  - {_yaml_str(folder.replace('_', ' ').title())}:")
        nav.extend(entries)
    rel = lambda p: os.path.relpath(p, path.parent)
    repo = cfg.get('git_url', '')
    text = f"""# Generated by tools/build_docs.py from nbs/: edit the notebooks, not this file.
site_name: {_yaml_str(cfg.get('title') or cfg.get('lib_name'))}
site_description: {_yaml_str(cfg.get('description', ''))}
site_url: {_yaml_str(cfg.get('doc_host', '') + cfg.get('doc_baseurl', '') + '/')}
repo_url: {_yaml_str(repo)}
edit_uri: ''
docs_dir: {_yaml_str(rel(docs_dir))}
site_dir: {_yaml_str(rel(site_dir))}
use_directory_urls: false
theme:
  name: material
  font: false
  features: [navigation.top, toc.integrate, toc.follow, content.code.copy]
  palette:
    primary: indigo
    accent: indigo
plugins:
  - search
  - offline
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - tables
  - footnotes
  - toc:
      permalink: true
  - pymdownx.arithmatex:
      generic: true
  - pymdownx.highlight:
      use_pygments: true
  - pymdownx.superfences
  - pymdownx.details
extra_css: [assets/extra.css]
extra_javascript: [assets/mathjax-config.js, {_yaml_str(mathjax_js)}]
nav:
{chr(10).join(nav)}
"""
    path.write_text(text)
    return path

# --------------------------------------------------------------------------------------------------------------------
# the built site: anchors, 404 page, link check

_HREF = re.compile(r'\s(href|src)="([^"]*)"')
_A = re.compile(r'<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', re.S)

def _pages_of(site: Path) -> list:
    return sorted(p for p in site.rglob('*.html') if 'assets' not in p.relative_to(site).parts)

def _ids(path: Path, cache: dict) -> set:
    if path not in cache:
        t = path.read_text(encoding='utf-8', errors='replace')
        cache[path] = set(re.findall(r'\sid="([^"]+)"', t)) | set(re.findall(r'\sname="([^"]+)"', t))
    return cache[path]

def _internal(url: str) -> bool:
    return not (re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', url) or url.startswith('//'))

def fix_anchors(site: Path) -> int:
    """Point links to a symbol without a heading of its own at its class (`#finitegroup.multiply` -> `#finitegroup`),
    or at the joined slug when that exists (`#finitegroupmultiply`); links that still resolve nowhere become plain
    text (a private helper named in prose). Returns the number of links changed."""
    cache, n = {}, 0
    for page in _pages_of(site):
        html = page.read_text(encoding='utf-8')
        def sub(m):
            nonlocal n
            url = m.group(1)
            u = urlsplit(url)
            if not u.fragment or not _internal(url): return m.group(0)
            target = page if not u.path else (page.parent / unquote(u.path)).resolve()
            if not target.is_file() or target.suffix != '.html': return m.group(0)
            ids, frag = _ids(target, cache), unquote(u.fragment)
            if frag in ids: return m.group(0)
            base = url.split('#')[0]
            for cand in (frag.replace('.', ''), frag.split('.')[0]):
                if cand in ids:
                    n += 1
                    return m.group(0).replace(f'href="{url}"', f'href="{base}#{cand}"', 1)
            n += 1
            return m.group(2)   # keep the text (e.g. `<code>_execute_run</code>`), drop the dead link
        new = _A.sub(sub, html)
        if new != html: page.write_text(new, encoding='utf-8')
    return n

def fix_404(site: Path, site_url: str):
    """Make the 404 page's links relative (it sits at the site root, so it also works from `file://` or another
    server path); where it is served under `site_url`'s path, a `<base>` set by a line of script keeps them right for
    missing pages in subfolders too."""
    page = site / '404.html'
    if not page.is_file(): return
    base = urlsplit(site_url).path or '/'
    if not base.endswith('/'): base += '/'
    html = page.read_text(encoding='utf-8')
    if base != '/': html = re.sub(r'(\s(?:href|src)=")' + re.escape(base), r'\1', html)
    html = re.sub(r'(\s(?:href|src)=")/(?!/)', r'\1', html)
    html = re.sub(r'(\shref=")(")', r'\1index.html\2', html)   # the site root itself
    script = ('<script>(function(){var b=' + json.dumps(base) + ';if(location.protocol.indexOf("http")===0&&'
              'location.pathname.indexOf(b)===0){var e=document.createElement("base");e.setAttribute("href",b);'
              'document.head.appendChild(e);}})();</script>')
    html = html.replace('<head>', '<head>\n' + script, 1) if '<head>' in html else script + html
    page.write_text(html, encoding='utf-8')

def check_links(site: Path) -> list:
    "Every internal `href`/`src` of every page of a built site: the file exists and, for `#anchor`, the id exists in it; returns one line per problem."
    site = Path(site)
    cache, bad = {}, []
    for page in _pages_of(site):
        for attr, url in _HREF.findall(page.read_text(encoding='utf-8', errors='replace')):
            url = url.replace('&amp;', '&')
            if not url or not _internal(url): continue
            u = urlsplit(url)
            rel = page.relative_to(site)
            if u.path.startswith('/'): bad.append(f'{rel}: absolute link {url}'); continue
            target = page if not u.path else (page.parent / unquote(u.path))
            if target.is_dir(): target = target / 'index.html'
            if not target.exists(): bad.append(f'{rel}: {attr} {url}: no such file'); continue
            if u.fragment and target.suffix == '.html' and unquote(u.fragment) not in _ids(target.resolve(), cache):
                bad.append(f'{rel}: {url}: no anchor #{unquote(u.fragment)} in {target.relative_to(site) if target.is_relative_to(site) else target}')
    return bad

_README_HEAD = '<!-- Generated from nbs/index.ipynb by tools/build_docs.py (make docs): edit the notebook, not this file. -->\n\n'

def readme_markdown(index_md: str) -> str:
    "README.md's text from the README Markdown of `nbs/index.ipynb` (its stored outputs, absolute links)."
    return _README_HEAD + index_md.replace('<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->\n\n', '')

def check_pages(docs_dir: Path, site_dir: Path) -> list:
    "`page_problems` of every generated Markdown page and every HTML page of the built site: one line per problem."
    bad = []
    for root, pat in ((Path(docs_dir), '*.md'), (Path(site_dir), '*.html')):
        if not root.is_dir(): continue
        for f in sorted(root.rglob(pat)):
            if 'assets' in f.relative_to(root).parts: continue
            for b in page_problems(f.read_text(encoding='utf-8', errors='replace')):
                bad.append(f'{os.path.relpath(f, ROOT)}: {b}')
    return bad

def build(nbs: str | Path = 'nbs', site_dir: str | Path = '_docs', work_dir: str | Path = '_proc/mkdocs',
          readme: str | Path | None = 'README.md', execute: bool = True, full: bool = False, workers: int = 2,
          force: bool = False, quiet: bool = False) -> dict:
    "Build the site; returns a summary dict (pages, errors, mkdocs.yml path, site dir, seconds)."
    cwd = os.getcwd()
    os.chdir(ROOT)
    try: return _build(nbs, site_dir, work_dir, readme, execute, full, workers, force, quiet)
    finally: os.chdir(cwd)

def _build(nbs, site_dir, work_dir, readme, execute, full, workers, force, quiet) -> dict:
    t0 = time.time()
    from nbdev.config import get_config
    cfg = get_config()
    nbs, site_dir, work_dir = (ROOT / nbs).resolve(), (ROOT / site_dir).resolve(), (ROOT / work_dir).resolve()
    docs_dir = work_dir / 'docs'
    cache_dir = ROOT / '_proc' / 'exec_cache'
    if force and cache_dir.exists(): shutil.rmtree(cache_dir)
    if docs_dir.exists(): shutil.rmtree(docs_dir)
    docs_dir.mkdir(parents=True)
    base_url = cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')
    nb_paths = find_notebooks(nbs)
    if not nb_paths: raise SystemExit(f'no notebooks under {nbs}')
    lib = _lib_hash()
    args = [(str(p), str(nbs), str(docs_dir), base_url, execute, full, str(cache_dir), lib) for p in nb_paths]
    ctx = mp.get_context('spawn')
    # workers unpickle `render_notebook` by module name: IPython replaces `__main__` inside a worker once it has run a notebook
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_docs as this
    results = {}
    with cf.ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx, initializer=_init_worker,
                                initargs=(str(ROOT),)) as ex:
        futs = {ex.submit(this.render_notebook, *a): a[0] for a in args}
        for f in cf.as_completed(futs):
            r = f.result()
            results[futs[f]] = r
            if not quiet:
                print(f"  {r['nb']:<32} -> {r['page']:<28} {r['status']:>14}"
                      f"  {r['seconds']:>5}s" + (f"  ({len(r['errors'])} cell errors)" if r['errors'] else ''), flush=True)
    pages = [results[str(p)] for p in nb_paths]
    # static files kept beside the notebooks (images referenced from markdown cells)
    for p in _static_files(nbs):
        rel = p.relative_to(nbs)
        if p.is_file() and p.suffix not in ('.ipynb', '.py', '.yml', '.yaml') and not any(s.startswith(('.', '_')) for s in rel.parts):
            (docs_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, docs_dir / rel)
    assets = docs_dir / 'assets'
    assets.mkdir(exist_ok=True)
    (assets / 'extra.css').write_text(_EXTRA_CSS)
    (assets / 'mathjax-config.js').write_text(_MATHJAX_CONFIG)
    mj = _local_mathjax()
    if mj is not None:
        (assets / 'mathjax').mkdir(exist_ok=True)
        shutil.copy2(mj, assets / 'mathjax' / 'tex-svg.js')
        mathjax_js = 'assets/mathjax/tex-svg.js'
    else: mathjax_js = MATHJAX_CDN
    yml = write_mkdocs_yml(work_dir / 'mkdocs.yml', docs_dir, site_dir, pages, cfg, mathjax_js)
    env = dict(os.environ, NO_MKDOCS_2_WARNING='1')
    proc = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--clean', '-q', '-f', str(yml)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'mkdocs build failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
    n_fixed = fix_anchors(site_dir)
    fix_404(site_dir, cfg.get('doc_host', '') + cfg.get('doc_baseurl', '') + '/')
    broken = check_links(site_dir)
    errors = [e for p in pages for e in p['errors']]
    if readme is not None:
        idx = next((p for p in pages if p['page'] == 'index.md'), None)
        if idx is not None and idx['readme']:
            text = readme_markdown(idx['readme'])
            bad = page_problems(text)
            if bad: errors += [f'{readme}: {b} (README not written)' for b in bad]
            else:
                rp = ROOT / readme
                if not rp.exists() or rp.read_text() != text: rp.write_text(text)   # untouched when the same
    errors += [f'page {b}' for b in check_pages(docs_dir, site_dir)]   # the last guard: no page holds a traceback or a cell error
    summary = dict(pages=[{k: v for k, v in p.items() if k != 'readme'} for p in pages], errors=errors,
                   mkdocs_yml=str(yml), site_dir=str(site_dir), mathjax=mathjax_js, seconds=round(time.time() - t0, 1),
                   mkdocs_warnings=[l for l in proc.stderr.splitlines() if 'WARNING' in l], anchors_fixed=n_fixed,
                   broken_links=broken)
    if not quiet:
        print(f"docs: {len(pages)} pages -> {site_dir} in {summary['seconds']}s (MathJax: {'local' if mj else 'CDN'})")
        for w in summary['mkdocs_warnings']: print('  mkdocs:', w)
        for e in errors: print('  error:', e)
        for l in broken: print('  broken link:', l)
    return summary

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nbs', default='nbs', help='notebook folder')
    ap.add_argument('--out', default='_docs', help='site folder')
    ap.add_argument('--work', default='_proc/mkdocs', help='folder for the generated Markdown and mkdocs.yml')
    ap.add_argument('--no-exec', action='store_true', help='never execute notebooks (pages show stored outputs only)')
    ap.add_argument('--full', action='store_true', help='execute without IN_TEST (full-size examples; slow)')
    ap.add_argument('--workers', type=int, default=2, help='notebooks processed in parallel')
    ap.add_argument('--force', action='store_true', help='ignore the execution cache')
    ap.add_argument('--readme', default='README.md', help='where to write the README (from the stored outputs of index.ipynb)')
    ap.add_argument('--no-readme', action='store_true', help='do not write the README')
    a = ap.parse_args(argv)
    s = build(a.nbs, a.out, a.work, None if a.no_readme else a.readme, execute=not a.no_exec, full=a.full,
              workers=a.workers, force=a.force)
    if s['errors'] or s['broken_links']:
        print(f"docs build FAILED: {len(s['errors'])} errors, {len(s['broken_links'])} broken links (listed above)", file=sys.stderr)
        return 1
    return 0

if __name__ == '__main__':
    sys.exit(main())
