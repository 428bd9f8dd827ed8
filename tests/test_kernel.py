"""The tutorials and the figures notebook run in a real Jupyter kernel (ipykernel through nbclient, as JupyterLab and
VS Code run them, with `IN_TEST=1` for speed): every cell that returns a figure shows it once as a PNG image, and
`explore` shows its widget with the figure of the selected checkpoint inside."""
import ast, base64, sys
from pathlib import Path
import pytest

pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import full_outputs  # noqa: E402

NOTEBOOKS = ['nbs/08_viz.ipynb', 'nbs/tutorials/01_d3_staircase.ipynb', 'nbs/tutorials/02_custom_group.ipynb',
             'nbs/tutorials/03_paper_staircase.ipynb']
WIDGET_VIEW, WIDGET_STATE = full_outputs.WIDGET_VIEW, full_outputs.WIDGET_STATE
PNG = b'\x89PNG\r\n\x1a\n'


def _last_expr(src: str):
    "The cell's final expression statement (what Jupyter displays as its result), or None."
    lines = [l for l in src.splitlines() if not l.lstrip().startswith('#|')]
    try: tree = ast.parse('\n'.join(lines))
    except SyntaxError: return None
    if not tree.body or not isinstance(tree.body[-1], ast.Expr) or src.rstrip().endswith(';'): return None
    return tree.body[-1].value


def _callee(node) -> str:
    return node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else ''


def returns_figure(src: str) -> bool:
    "Does the cell end with a figure: `fig`, a call of one of the package's `plot_*` functions, or a stored figure (`Image(...)`)?"
    e = _last_expr(src)
    return e is not None and ((isinstance(e, ast.Name) and e.id == 'fig') or _callee(e).startswith('plot_') or _callee(e) == 'Image')


def returns_explorer(src: str) -> bool:
    "Does the cell end with `explore(...)` or a name assigned from `explore(...)` in the same cell?"
    e = _last_expr(src)
    if e is None: return False
    if _callee(e) == 'explore': return True
    if isinstance(e, ast.Name):
        tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('#|')))
        return any(isinstance(s, ast.Assign) and _callee(s.value) == 'explore' and any(getattr(t, 'id', None) == e.id for t in s.targets)
                   for s in tree.body)
    return False


def _images(outputs) -> list:
    return [o for o in outputs if 'image/png' in o.get('data', {})]


def _widget_outputs(state: dict, model_id: str, seen=None) -> list:
    "Outputs held by the Output widgets inside a widget (its children, recursively)."
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state: return []
    seen.add(model_id)
    m = state[model_id]
    out = list(m['state'].get('outputs') or []) if m.get('model_name') == 'OutputModel' else []
    for ch in m['state'].get('children') or []:
        if isinstance(ch, str) and ch.startswith('IPY_MODEL_'): out += _widget_outputs(state, ch[len('IPY_MODEL_'):], seen)
    return out


def test_cell_classifier():
    assert returns_figure("fig = plot_loss(s, l)\ntest_eq(1, 1)\nfig") and returns_figure("plot_irreps(D3)")
    assert returns_figure("Image(filename='paper/staircase.png')")
    assert not returns_figure("fig = plot_loss(s, l)") and not returns_figure("plot_irreps(D3);") and not returns_figure("x = 1\nx")
    assert returns_explorer("w = explore(run)\ntest_eq(1, 1)\nw") and returns_explorer("explore(run)")
    assert not returns_explorer("w = explore(run)") and not returns_explorer("w = 3\nw")


def _run(path):
    return full_outputs.execute(ROOT / path, full=False, timeout=300)


@pytest.fixture(scope='module')
def all_executed():
    "The notebooks executed in fresh ipykernels with IN_TEST=1 (as nbdev_test shrinks training), two at a time."
    import concurrent.futures as cf, multiprocessing as mp
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context('spawn')) as ex:
        return dict(zip(NOTEBOOKS, ex.map(_run, NOTEBOOKS)))


@pytest.fixture(params=NOTEBOOKS, ids=[Path(p).stem for p in NOTEBOOKS])
def executed(request, all_executed):
    nb, secs = all_executed[request.param]
    return request.param, nb, secs


def test_figures_are_images(executed):
    "Every cell ending in a figure shows exactly one PNG; no figure anywhere is shown as bare '<Figure size ...>' text."
    name, nb, secs = executed
    n_fig = 0
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'code': continue
        for o in c.outputs:
            txt = o.get('data', {}).get('text/plain', '')
            if txt.startswith('<Figure size'): assert 'image/png' in o['data'], f'{name} cell {i}: a figure shown as text only: {txt}'
        if returns_figure(c.source):
            n_fig += 1
            imgs = _images(c.outputs)
            assert len(imgs) == 1, f'{name} cell {i} returns a figure but shows {len(imgs)} images:\n{c.source}'
            assert base64.b64decode(imgs[0]['data']['image/png'])[:8] == PNG
    least = 2 if 'paper_staircase' in name else 5       # the paper tutorial shows its stored full-run figures
    assert n_fig >= least, f'{name}: only {n_fig} cells return a figure'
    print(f'{name}: {n_fig} figure cells, all PNG, executed in {secs:.1f} s')


def test_explorer_widget(executed):
    "A cell ending in the explorer shows the widget, and the widget's output area holds the figure of its checkpoint."
    name, nb, _ = executed
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == 'code' and returns_explorer(c.source)]
    if 'custom_group' in name or 'paper_staircase' in name: return pytest.skip('this tutorial has no explorer')
    assert cells, f'{name}: no cell shows the explorer'
    state = nb.metadata.get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    for i, c in cells:
        views = [o for o in c.outputs if WIDGET_VIEW in o.get('data', {})]
        assert len(views) == 1, f'{name} cell {i}: expected one widget output, got {[list(o.get("data", {})) for o in c.outputs]}'
        model = views[0]['data'][WIDGET_VIEW]['model_id']
        assert state.get(model, {}).get('model_name') == 'VBoxModel', f'{name} cell {i}: widget {model} not in the saved widget state'
        kinds = {state[ch[len('IPY_MODEL_'):]]['model_name'] for ch in state[model]['state']['children']}
        assert kinds == {'SelectionSliderModel', 'OutputModel'}, kinds
        imgs = _images(_widget_outputs(state, model))
        assert len(imgs) == 1, f'{name} cell {i}: the explorer holds {len(imgs)} figures'
        assert base64.b64decode(imgs[0]['data']['image/png'])[:8] == PNG
        assert not _images(c.outputs), f'{name} cell {i}: the figure is shown outside the widget too'
