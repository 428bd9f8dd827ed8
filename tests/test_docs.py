"The documentation site builds offline (nbdev processing + MkDocs) and every page is complete: one page per notebook, API signatures, no leaked `#|` directives, every image present, math marked up for MathJax."
import html, re, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs  # noqa: E402


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
