#!/usr/bin/env python
"""Build the documentation site offline: notebooks -> nbdev processing -> Markdown -> MkDocs (Material) -> `_docs/`.

Quarto (which `nbdev_docs`, `nbdev_readme` and `nbdev_preview` need) is not available here, so this script does the
same job with what is:

1. every notebook under `nbs/` that has no stored outputs is executed (execnb `CaptureShell`, with `IN_TEST=1` unless
   `--full`, skipping the cells flagged with `tst_flags` from settings.ini, as `nbdev_test` does), so figures appear;
   executed notebooks are cached in `_proc/exec_cache/` by the hash of the notebook and the library;
   A notebook with stored outputs is shown as stored: `tools/full_outputs.py` (`make full-outputs`) stores the outputs
   of full runs, executed in a real Jupyter kernel, for the notebooks whose pages should show them;
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
   links, and every internal link and anchor of the site is checked (`check_links`);
5. `README.md` is written from the processed `nbs/index.ipynb`.

MathJax is served from the site itself when a pip package ships it (`django-static-mathjax`, whose `tex-svg.js`
needs no web fonts and so renders from `file://` too); otherwise the site loads it from a CDN.

Usage: `python tools/build_docs.py [--out _docs] [--no-exec] [--full] [--workers 2] [--force] [--no-readme]`.
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
    sh = CaptureShell(nb_path, mpl_format='png')
    with working_directory(nb_path.parent):
        for cell in run.cells:
            if no_eval(cell): continue
            sh.cell(cell)
            if sh.exc: errors.append(f'{nb_path.name}: {type(sh.exc).__name__}: {sh.exc}'.splitlines()[0]); sh.exc = None
    os.environ.pop('IN_TEST', None)
    nb = read_nb(nb_path)
    code_out = [c.get('outputs', []) for c in run.cells if c.cell_type == 'code']
    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    if len(code_out) == len(code_cells):
        for c, o in zip(code_cells, code_out): c['outputs'] = o
    return nb, errors

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

def _outputs_md(cell, img_dir: Path, img_rel: str, stem: str, n_img: list, images: bool, widgets: dict = None) -> list:
    parts = []
    for o in cell.get('outputs', []):
        t = o.get('output_type')
        if t == 'stream':
            txt = _ANSI.sub('', _text(o.get('text', '')))
            if txt.strip(): parts.append(_fence(txt, 'text'))
        elif t == 'error':
            tb = _ANSI.sub('', '\n'.join(o.get('traceback', [])) or f"{o.get('ename')}: {o.get('evalue')}")
            parts.append(_fence(tb, 'text'))
        elif t in ('execute_result', 'display_data'):
            data = o.get('data', {})
            if _WIDGET in data:   # a static site cannot run a widget: show what its output areas hold, if saved
                inner = _widget_outputs(widgets or {}, (data[_WIDGET] or {}).get('model_id', ''))
                if inner: parts.extend(_outputs_md({'outputs': inner}, img_dir, img_rel, stem, n_img, images, widgets))
                continue
            md = _text(data.get('text/markdown', ''))
            if 'text/markdown' in data and not ('text/html' in data and md.lstrip().startswith('```html')):   # fastprogress: its HTML, not a listing of it
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
                parts.append(f'![]({img_rel}/{name}){attr}')
            elif 'text/html' in data:
                h = _text(data['text/html'])
                if '<progress' in h or 'table.fastprogress' in h: continue   # progress bars: nothing to read on a static page
                parts.append('<div class="nb-output" markdown="0">\n' + _text(data['text/html']).strip() + '\n</div>')
            elif 'text/latex' in data: parts.append(_text(data['text/latex']).strip())
            elif 'text/plain' in data:
                txt = _ANSI.sub('', _text(data['text/plain']))
                if txt.strip(): parts.append(_fence(txt, 'text'))
    return parts

_MD_IMAGE = re.compile(r'(!\[[^\]]*\]\()(?![a-zA-Z][\w+.-]*:|/|#)([^)\s]+)')

def _images_from(md: str, prefix: str) -> str:
    "`md` with relative image paths (`![alt](images/x.png)`) prefixed by `prefix` (README.md sits above `nbs/`)."
    return _MD_IMAGE.sub(lambda m: m.group(1) + prefix + m.group(2), md) if prefix else md

def notebook_markdown(nb, page: Path, docs_dir: Path | None, base_url: str, relative_links=True, images=True,
                      image_prefix: str = '') -> str:
    "Markdown of a processed notebook (title and description from its frontmatter); images go next to the page; relative image paths in markdown cells get `image_prefix`."
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
                out.append(links(_images_from(fix_markdown(src.strip()), image_prefix)))
        elif cell.cell_type == 'code':
            d = _cell_directives(cell)
            if _false(d, 'include'): continue
            code = _strip_directives(src or '')
            if code.strip() and not _false(d, 'echo'): out.append(_fence(code, 'python'))
            if not _false(d, 'output'):
                out.extend(links(p) for p in _outputs_md(cell, img_dir, img_rel, 'cell', n_img, images and img_dir is not None, widgets))
        elif cell.cell_type == 'raw':
            continue
    return '\n\n'.join(out).rstrip() + '\n'

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

def render_notebook(nb_path: str, nbs: str, docs_dir: str, base_url: str, execute: bool, full: bool,
                    cache_dir: str, lib_hash: str) -> dict:
    "Execute (if it has no outputs), process with nbdev's FilterDefaults and write one Markdown page."
    from execnb.nbio import read_nb, dict2nb
    from nbdev.processors import FilterDefaults
    t0 = time.time()
    nb_path, nbs, docs_dir = Path(nb_path), Path(nbs), Path(docs_dir)
    page = _page_name(nb_path, nbs)
    nb = read_nb(nb_path)
    errors, executed = [], False
    if execute and not _has_outputs(nb):
        key = hashlib.sha1(nb_path.read_bytes() + lib_hash.encode() + str(full).encode()).hexdigest()[:16]
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
    import copy
    raw = copy.deepcopy(nb)
    _use_site_show_doc()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        os.environ['IN_TEST'] = '1'
        try: FilterDefaults()(nb)
        except Exception as e:  # e.g. a module the notebook imports is missing: keep the page, without signatures
            errors.append(f'{nb_path.name}: nbdev processing: {str(e).splitlines()[0]}')
            nb = raw
            _NoShowDocExec()(nb)
        finally: os.environ.pop('IN_TEST', None)
    md = notebook_markdown(nb, page, docs_dir, base_url)
    (docs_dir / page).parent.mkdir(parents=True, exist_ok=True)
    (docs_dir / page).write_text(md)
    readme = notebook_markdown(nb, page, None, base_url, relative_links=False, images=False,
                               image_prefix=f'{nbs.name}/') if page.as_posix() == 'index.md' else None
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
.md-typeset .nb-output { overflow-x: auto; }
.md-typeset img { max-width: 100%; height: auto; }
.md-typeset td code { white-space: nowrap; }
.md-typeset blockquote { color: var(--md-default-fg-color--light); border-left-color: var(--md-primary-fg-color); }
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
    if readme is not None:
        idx = next((p for p in pages if p['page'] == 'index.md'), None)
        if idx is not None and idx['readme']:
            head = '<!-- Generated from nbs/index.ipynb by tools/build_docs.py (make docs): edit the notebook, not this file. -->\n\n'
            body = idx['readme'].replace('<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->\n\n', '')
            Path(ROOT / readme).write_text(head + body)
    errors = [e for p in pages for e in p['errors']]
    summary = dict(pages=[{k: v for k, v in p.items() if k != 'readme'} for p in pages], errors=errors,
                   mkdocs_yml=str(yml), site_dir=str(site_dir), mathjax=mathjax_js, seconds=round(time.time() - t0, 1),
                   mkdocs_warnings=[l for l in proc.stderr.splitlines() if 'WARNING' in l], anchors_fixed=n_fixed,
                   broken_links=broken)
    if not quiet:
        print(f"docs: {len(pages)} pages -> {site_dir} in {summary['seconds']}s (MathJax: {'local' if mj else 'CDN'})")
        for w in summary['mkdocs_warnings']: print('  mkdocs:', w)
        for e in errors: print('  cell error:', e)
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
    ap.add_argument('--no-readme', action='store_true', help='do not write README.md')
    a = ap.parse_args(argv)
    s = build(a.nbs, a.out, a.work, None if a.no_readme else 'README.md', execute=not a.no_exec, full=a.full,
              workers=a.workers, force=a.force)
    return 1 if s['errors'] or s['broken_links'] else 0

if __name__ == '__main__':
    sys.exit(main())
