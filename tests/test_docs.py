"""The documentation site builds offline (nbdev processing + MkDocs) and every page is complete: one page per notebook,
API signatures with rendered parameter tables, no leaked `#|` directives, every image present, math marked up for
MathJax, stored outputs (full runs) shown, and every internal link and anchor resolving."""
import base64, html, json, re, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs  # noqa: E402
import full_outputs  # noqa: E402


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Build the whole site once into a temporary folder (README included, written there too)."
    tmp = tmp_path_factory.mktemp('docs')
    summary = build_docs.build(site_dir=tmp / 'site', work_dir=tmp / 'work', readme=tmp / 'README.md', quiet=True)
    return tmp, summary


def _html(path): return path.read_text(encoding='utf-8')


def _text(path):
    "Visible text of a page: tags removed, entities decoded."
    return html.unescape(re.sub(r'<[^>]+>', '', _html(path)))


def _pages(site_dir): return [p for p in site_dir.rglob('*.html') if p.name != '404.html' and 'assets' not in p.parts]


def test_every_notebook_has_a_page(site):
    tmp, summary = site
    nbs = ROOT / 'nbs'
    notebooks = build_docs.find_notebooks(nbs)
    assert notebooks, 'no notebooks found'
    for nb in notebooks:
        page = tmp / 'site' / build_docs._page_name(nb, nbs).with_suffix('.html')
        assert page.is_file(), f'{nb.name} has no page {page.name}'
    assert len(summary['pages']) == len(notebooks)
    yml = Path(summary['mkdocs_yml']).read_text()
    assert all(p['page'] in yml for p in summary['pages'])  # every page is in the navigation


def test_no_cell_errors(site):
    "Notebooks executed for the docs ran without exceptions (a page must not show a traceback)."
    assert site[1]['errors'] == []


def test_signatures_appear(site):
    s = site[0] / 'site'
    assert 'def get_group(' in _text(s / 'groups.html')
    assert 'def fourier_transform(' in _text(s / 'fourier.html')
    if (s / 'viz.html').exists():
        txt = _text(s / 'viz.html')
        for name in ['plot_loss', 'plot_power', 'plot_run', 'explore', 'save_figure']: assert f'def {name}(' in txt, name


def test_no_directives_leak(site):
    for page in _pages(site[0] / 'site'):
        text = _text(page)
        assert '#|' not in text, f'{page.name} shows a raw #| directive'
        assert 'show_doc(' not in text, f'{page.name} shows a show_doc call'


def test_every_image_exists(site):
    s = site[0] / 'site'
    n = 0
    for page in _pages(s):
        for src in re.findall(r'<img[^>]+src="([^"]+)"', _html(page)):
            if src.startswith(('http:', 'https:', 'data:')): continue
            n += 1
            assert (page.parent / src.split('#')[0]).is_file(), f'{page.name}: missing image {src}'
    if (s / 'viz.html').exists(): assert n > 0, 'the figures notebook shows no figure'


def test_math_is_marked_up(site):
    s = site[0] / 'site'
    page = _html(s / 'fourier.html')
    assert 'class="arithmatex"' in page
    mj = site[1]['mathjax']
    assert mj.startswith('http') or (s / mj).is_file()


def test_readme_from_index(site):
    tmp, summary = site
    if not (ROOT / 'nbs' / 'index.ipynb').exists(): pytest.skip('no nbs/index.ipynb yet')
    readme = (tmp / 'README.md').read_text()
    assert readme.lstrip().startswith('<!--') and '\n# ' in readme
    assert '#|' not in readme


def test_signatures_without_inferred_types_and_parameter_tables(site):
    "Signatures show annotations as written (no `NoneType=None`); docments go into a table whose cells render code and math."
    s = site[0] / 'site'
    for page in _pages(s): assert 'NoneType' not in _text(page), f'{page.name} shows an inferred NoneType'
    txt, page = _text(s / 'viz.html'), _html(s / 'viz.html')
    assert 'def plot_loss(' in txt and 'plateaus=None' in txt and '# predicted plateau levels' not in txt
    assert '<td><code>plateaus</code></td>' in page
    cells = re.findall(r'<td>(.*?)</td>', _html(s / 'templates.html'), re.S)
    assert any('class="arithmatex"' in c for c in cells), 'no math rendered in a parameter table'
    assert not any('$' in html.unescape(re.sub(r'<[^>]+>', '', c)) for c in cells), 'raw $ math left in a parameter table'


def test_internal_links_and_anchors(site):
    "The link checker finds nothing on the built site (404 page included), and it checked the whole site."
    tmp, summary = site
    s = tmp / 'site'
    assert summary['broken_links'] == [], summary['broken_links']
    n = sum(len(build_docs._HREF.findall(p.read_text(encoding='utf-8'))) for p in build_docs._pages_of(s))
    assert n > 500, n
    pages = {p.name: _html(p) for p in build_docs._pages_of(s)}
    for bad in ('#finitegroupmultiply', '#configfrom_dict', '#_execute_run'):   # symbols without a heading of their own
        assert not any(f'{bad}"' in t for t in pages.values()), bad
    page404 = pages['404.html']
    assert not re.search(r'\s(href|src)="/(?!/)', page404) and 'href="index.html"' in page404


def test_link_checker_and_anchor_fixes(tmp_path):
    "The checker reports a missing anchor, a missing file and an absolute link; dotted anchors fall back to their class."
    (tmp_path / 'a.html').write_text('<h2 id="x">X</h2><a href="b.html#y">b</a><a href="#x">x</a><a href="c.html">c</a>'
                                     '<img src="/abs.png"><a href="b.html#z.w"><code>z.w</code></a><a href="#q"><code>q</code></a>')
    (tmp_path / 'b.html').write_text('<h2 id="z">Z</h2>')
    assert build_docs.check_links(tmp_path) == ['a.html: b.html#y: no anchor #y in b.html', 'a.html: href c.html: no such file',
                                                'a.html: absolute link /abs.png', 'a.html: b.html#z.w: no anchor #z.w in b.html',
                                                'a.html: #q: no anchor #q in a.html']
    assert build_docs.fix_anchors(tmp_path) == 3
    page = (tmp_path / 'a.html').read_text()
    assert '<a href="b.html#z"><code>z.w</code></a>' in page and '<code>q</code>' in page and 'href="#q"' not in page
    assert build_docs.check_links(tmp_path) == ['a.html: href c.html: no such file', 'a.html: absolute link /abs.png']


def test_widget_shown_by_its_saved_outputs(tmp_path):
    "A widget output (the explorer) becomes the image its Output widget holds in the notebook's saved widget state."
    raw = b'\x89PNG\r\n\x1a\n' + b'0' * 16
    state = {'v': {'model_name': 'VBoxModel', 'state': {'children': ['IPY_MODEL_s', 'IPY_MODEL_o']}},
             's': {'model_name': 'SelectionSliderModel', 'state': {}},
             'o': {'model_name': 'OutputModel', 'state': {'outputs': [
                 {'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': base64.b64encode(raw).decode(), 'text/plain': '<Figure>'}}]}}}
    cell = {'outputs': [{'output_type': 'execute_result', 'metadata': {},
                         'data': {build_docs._WIDGET: {'model_id': 'v'}, 'text/plain': 'VBox(...)'}}]}
    assert build_docs._outputs_md(cell, tmp_path, 'img', 'cell', [0], True, state) == ['![](img/cell_1.png)']
    assert (tmp_path / 'cell_1.png').read_bytes() == raw
    assert build_docs._outputs_md(cell, tmp_path, 'img', 'cell', [0], True, {}) == []   # no saved state: nothing to show


def test_stored_outputs_shown(site):
    "A notebook holding stored outputs (full runs from tools/full_outputs.py) is not re-executed and its page shows every image."
    tmp, summary = site
    stored = [p for p in summary['pages'] if full_outputs.has_outputs(ROOT / 'nbs' / p['nb'])]
    if not stored: pytest.skip('no notebook holds stored outputs')
    for p in stored:
        assert p['status'] == 'stored outputs' and not p['executed'], p
        n = full_outputs.count_outputs(json.loads((ROOT / 'nbs' / p['nb']).read_text()))['images']
        page = Path(p['page'])
        srcs = re.findall(r'<img[^>]+src="([^"]+)"', _html(tmp / 'site' / page.with_suffix('.html')))
        assert len([x for x in srcs if x.startswith(f'{page.stem}_files/')]) == n, (p['nb'], n, srcs)


def test_full_outputs_skips_like_nbdev_test():
    flags = full_outputs._skip_flags()
    assert {'slow', 'gpu', 'notest'} <= flags
    assert full_outputs.skipped('#| slow\ntrain()', flags) and full_outputs.skipped('#| eval: false\nx', flags)
    assert not full_outputs.skipped('#| export\ndef f(): pass', flags) and not full_outputs.skipped('x = 1  # slow', flags)
