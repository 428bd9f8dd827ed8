#!/usr/bin/env python
"""Execute notebooks in a real Jupyter kernel (ipykernel through nbclient) and store their outputs in the notebooks.

The documentation shows a notebook's stored outputs when it has any (`tools/build_docs.py`), and executes it with
`IN_TEST=1` (short training runs) when it has none. The notebooks listed in `FULL_RUN_NOTEBOOKS` (the tutorials, the
`train` page example, the `viz` staircase and the index's quick start) should show full runs, so this script executes
them without `IN_TEST`, as a user would in JupyterLab, and writes the outputs back. `README.md` is written from the
stored outputs of `nbs/index.ipynb` (never from a new execution), so storing them here is what changes the README's
numbers: run it for the index when its quick start changes, and commit the notebook with the README `make docs` writes.

1. cells flagged with a `tst_flags` directive from settings.ini (`#| slow`, `#| gpu`, `#| notest`) or `#| eval: false`
   are skipped, as `nbdev_test` skips them;
2. the kernel runs in the notebook's folder with this checkout first on `PYTHONPATH`; figures come back as PNG
   images (the package registers the inline backend's formatter); widgets keep their state in the notebook metadata
   (`explore` stores the figure it drew), which the docs build renders as a static image;
3. a notebook whose execution raises is left unchanged and the script exits with status 1;
4. each written notebook is cleaned with `nbdev_clean` (execution counts and metadata removed, outputs kept), so
   `make test`'s sync check passes.

Usage:
  python tools/full_outputs.py                  # execute FULL_RUN_NOTEBOOKS fully and store their outputs
  python tools/full_outputs.py nbs/08_viz.ipynb # only these notebooks
  python tools/full_outputs.py --test           # with IN_TEST=1 (quick check of the mechanism; outputs of short runs)
  python tools/full_outputs.py --clear          # remove the stored outputs again (the docs then execute the notebooks)
  python tools/full_outputs.py --status         # which listed notebooks hold stored outputs
`make full-outputs` runs the first form; `make docs` afterwards builds the site from the stored outputs.
"""
from __future__ import annotations
import argparse, os, re, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL_RUN_NOTEBOOKS = ('nbs/index.ipynb',
                      'nbs/tutorials/01_d3_staircase.ipynb', 'nbs/tutorials/02_custom_group.ipynb',
                      'nbs/07_train.ipynb',
                      'nbs/08_viz.ipynb')
SKIP_TAG = 'skip-execution'   # nbclient does not execute cells with this tag
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'


def _skip_flags() -> set:
    "The cell flags that nbdev_test skips (settings.ini `tst_flags`), plus `notest`."
    flags = {'notest'}
    ini = ROOT / 'settings.ini'
    if ini.exists():
        m = re.search(r'^\s*tst_flags\s*=\s*(.*)$', ini.read_text(), re.M)
        if m: flags |= set(m.group(1).split())
    return flags


def _directives(src: str) -> dict:
    "The `#| key: value` directives at the top of a cell's source."
    d = {}
    for line in src.splitlines():
        m = re.match(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: d[m.group(1)] = m.group(2).strip()
        elif line.strip(): break
    return d


def skipped(src: str, flags: set) -> bool:
    "True for a cell that nbdev_test does not run: flagged with one of `flags`, or `#| eval: false`."
    d = _directives(src)
    return bool(flags & d.keys()) or d.get('eval', '').lower() == 'false'


def execute(path, # the notebook
            full: bool = True, # without IN_TEST (full-size runs); False sets IN_TEST=1
            timeout: int = 1800, # seconds allowed for one cell
            kernel: str = 'python3', # kernel name
            verbose: bool = False, # print each cell as it starts
           ):
    "Execute a notebook in a fresh kernel, skipping the cells nbdev_test skips; returns (nbformat notebook with outputs, seconds). Raises `nbclient.exceptions.CellExecutionError` when a cell fails."
    import nbformat
    from nbclient import NotebookClient
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    flags = _skip_flags()
    marked = []
    for c in nb.cells:
        if c.cell_type == 'code' and skipped(c.source, flags):
            tags = c.metadata.setdefault('tags', [])
            if SKIP_TAG not in tags: tags.append(SKIP_TAG); marked.append(c)
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    if not full: env['IN_TEST'] = '1'
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
    env.pop('MPLBACKEND', None)   # the kernel picks its inline backend
    t0 = time.perf_counter()
    def started(cell, cell_index, **kw):
        if verbose: print(f'  {time.perf_counter() - t0:6.1f} s  cell {cell_index}/{len(nb.cells)}: {cell.source.splitlines()[0][:70] if cell.source else ""}', flush=True)
    NotebookClient(nb, timeout=timeout, kernel_name=kernel, resources={'metadata': {'path': str(path.parent)}},
                   on_cell_execute=started).execute(env=env)
    for c in marked:
        c.metadata['tags'].remove(SKIP_TAG)
        if not c.metadata['tags']: del c.metadata['tags']
    return nb, time.perf_counter() - t0


def count_outputs(nb) -> dict:
    "Numbers of code cells with outputs, images (PNG/SVG/JPEG, widget outputs included) and errors in an executed notebook."
    imgs = lambda outs: sum(any(k.startswith('image/') for k in o.get('data', {})) for o in outs)
    cells = [c for c in nb['cells'] if c['cell_type'] == 'code']
    state = (nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}) or {}).get('state', {})
    n_widget_img = sum(imgs(m.get('state', {}).get('outputs') or []) for m in state.values())
    return dict(cells_with_outputs=sum(bool(c.get('outputs')) for c in cells),
                images=sum(imgs(c.get('outputs', [])) for c in cells) + n_widget_img,
                errors=sum(o.get('output_type') == 'error' for c in cells for o in c.get('outputs', [])))


def store(path, nb):
    "Write an executed notebook over `path` (atomically), then `nbdev_clean` it."
    import nbformat
    path = Path(path)
    tmp = path.with_name(f'.{path.name}.tmp')
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    _clean(path)


def _clean(path):
    from nbdev.clean import nbdev_clean
    cwd = os.getcwd()
    os.chdir(ROOT)
    try: nbdev_clean.__wrapped__(fname=str(path))
    finally: os.chdir(cwd)


def clear(path):
    "Remove a notebook's stored outputs and widget state, then `nbdev_clean` it."
    import nbformat
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None
    nb.metadata.pop('widgets', None)
    store(path, nb)


def has_outputs(path) -> bool:
    import json
    nb = json.loads(Path(path).read_text())
    return any(c.get('outputs') for c in nb['cells'] if c['cell_type'] == 'code')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('notebooks', nargs='*', help=f"notebooks (default: {' '.join(FULL_RUN_NOTEBOOKS)})")
    ap.add_argument('--test', action='store_true', help='execute with IN_TEST=1 (short runs) instead of full runs')
    ap.add_argument('--timeout', type=int, default=1800, help='seconds allowed for one cell (default 1800)')
    ap.add_argument('--clear', action='store_true', help='remove the stored outputs instead')
    ap.add_argument('--status', action='store_true', help='print which notebooks hold stored outputs and exit')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each cell as it starts')
    a = ap.parse_args(argv)
    paths = [Path(p).resolve() if Path(p).is_absolute() or Path(p).exists() else ROOT / p for p in (a.notebooks or FULL_RUN_NOTEBOOKS)]
    show = lambda p: p.relative_to(ROOT) if p.is_relative_to(ROOT) else p
    missing = [str(p) for p in paths if not p.is_file()]
    if missing: print(f"full_outputs: no such notebook: {', '.join(missing)}", file=sys.stderr); return 2
    if a.status:
        for p in paths: print(f"{show(p)}: {'stored outputs' if has_outputs(p) else 'no outputs'}")
        return 0
    if a.clear:
        for p in paths: clear(p); print(f'{show(p)}: outputs cleared')
        return 0
    from nbclient.exceptions import CellExecutionError
    failed = 0
    for p in paths:
        rel = show(p)
        print(f"{rel}: executing ({'IN_TEST=1' if a.test else 'full run'}) ...", flush=True)
        try: nb, secs = execute(p, full=not a.test, timeout=a.timeout, verbose=a.verbose)
        except CellExecutionError as e:
            failed += 1
            print(f'{rel}: FAILED, left unchanged:\n' + '\n'.join(str(e).strip().splitlines()[-12:]), file=sys.stderr)
            continue
        store(p, nb)
        n = count_outputs(nb)
        print(f"{rel}: {secs:.0f} s; {n['cells_with_outputs']} cells with outputs, {n['images']} images, "
              f"{p.stat().st_size / 1e6:.2f} MB written", flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
