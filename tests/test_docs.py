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
    assert build_docs._outputs_md(cell, tmp_path, 'img', 'cell', [0], True, state) == [
        '<div class="nb-output nb-image" markdown="1">\n\n![](img/cell_1.png)\n\n</div>']
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


def _nb(cells, **meta):
    "A notebook (nbformat 4 dict) from `(cell_type, source, outputs)` triples."
    return {'cells': [dict(cell_type=t, id=f'c{i:07d}', metadata={}, source=src,
                           **({'execution_count': None, 'outputs': outs or []} if t == 'code' else {}))
                      for i, (t, src, outs) in enumerate(cells)],
            'metadata': meta, 'nbformat': 4, 'nbformat_minor': 5}


def test_cell_errors_fail_the_build_and_no_page_shows_a_traceback(tmp_path):
    """A cell that raises during execution, a stored error output and a traceback printed by a cell each fail the build
    with the notebook and the cell named; the pages show a one-line note, never the traceback. The README comes from
    the index's stored outputs, never from a new execution."""
    nbs = tmp_path / 'nbs'; nbs.mkdir()
    stream = lambda t: [{'output_type': 'stream', 'name': 'stdout', 'text': t}]
    (nbs / 'index.ipynb').write_text(json.dumps(_nb([('markdown', '# Tiny\n> a site', None),
                                                     ('code', 'print(6 * 7)', stream('stored: 42\n'))])))
    (nbs / '01_raises.ipynb').write_text(json.dumps(_nb([('markdown', '# Raises', None), ('code', 'x = 1', None),
                                                         ('code', '#| echo: false\n1 / 0', None),
                                                         ('code', 'import traceback\ntry: {}[0]\nexcept KeyError: traceback.print_exc()', None)])))
    err = {'output_type': 'error', 'ename': 'AssertionError', 'evalue': 'plateaus differ',
           'traceback': ['\x1b[0;31mAssertionError\x1b[0m   Traceback (most recent call last)', 'Cell In[3], line 1']}
    (nbs / '02_stored.ipynb').write_text(json.dumps(_nb([('markdown', '# Stored', None), ('code', 'ok = 1', stream('fine\n')),
                                                         ('code', 'assert False, "plateaus differ"', [err])])))
    out = tmp_path / 'site'
    rc = build_docs.main(['--nbs', str(nbs), '--out', str(out), '--work', str(tmp_path / 'work'), '--workers', '1',
                          '--readme', str(tmp_path / 'README.md')])
    assert rc == 1
    s = build_docs.build(nbs, out, tmp_path / 'work', readme=tmp_path / 'README.md', workers=1, quiet=True)
    errs = s['errors']
    assert any('01_raises.ipynb, cell 3 of 4' in e and 'raised ZeroDivisionError: division by zero' in e and '`1 / 0`' in e for e in errs), errs
    assert any('01_raises.ipynb, cell 4 of 4' in e and 'traceback printed to stderr' in e for e in errs), errs
    assert any('02_stored.ipynb, cell 3 of 3' in e and 'error output AssertionError: plateaus differ' in e for e in errs), errs
    pages = list((tmp_path / 'work' / 'docs').rglob('*.md')) + list(out.rglob('*.html'))
    assert pages and not any(build_docs.TRACEBACK in p.read_text() for p in pages)
    raises = (out / 'raises.html').read_text()
    assert 'ZeroDivisionError: division by zero' in raises and 'nb-error' in raises
    assert any(e.startswith('page ') and 'raises.html' in e for e in errs)   # the last guard names the page too
    readme = (tmp_path / 'README.md').read_text()
    assert 'stored: 42' in readme and '\n42\n' not in readme and 'nb-output' not in readme
    # the same README on a second build (the file is left untouched)
    t = (tmp_path / 'README.md').stat().st_mtime_ns
    build_docs.build(nbs, out, tmp_path / 'work', readme=tmp_path / 'README.md', workers=1, quiet=True)
    assert (tmp_path / 'README.md').read_text() == readme and (tmp_path / 'README.md').stat().st_mtime_ns == t


def test_readme_ignores_a_new_execution(tmp_path):
    "An index without stored outputs is executed for its page (its code is checked), but the README shows no output."
    nbs = tmp_path / 'nbs'; nbs.mkdir()
    (nbs / 'index.ipynb').write_text(json.dumps(_nb([('markdown', '# Tiny', None), ('code', 'print(6 * 7)', None)])))
    s = build_docs.build(nbs, tmp_path / 'site', tmp_path / 'work', readme=tmp_path / 'README.md', workers=1, quiet=True)
    assert s['errors'] == [] and s['pages'][0]['executed']
    assert '42' in (tmp_path / 'work' / 'docs' / 'index.md').read_text()
    assert '42' not in (tmp_path / 'README.md').read_text() and 'print(6 * 7)' in (tmp_path / 'README.md').read_text()


def test_outputs_styled_dataframes_and_wide_images(tmp_path):
    "Outputs are wrapped apart from code; a DataFrame's HTML loses its own style (the site's table style applies); a wide image links to its full size."
    df = ('<div>\n<style scoped>\n .dataframe tbody tr th {vertical-align: top;}\n</style>\n<table border="1" class="dataframe">\n'
          '<thead><tr><th></th><th>a</th></tr></thead><tbody><tr><th>0</th><td>1</td></tr></tbody></table>\n</div>')
    cell = {'outputs': [{'output_type': 'execute_result', 'metadata': {}, 'data': {'text/html': df, 'text/plain': 'a\n0 1'}},
                        {'output_type': 'stream', 'name': 'stdout', 'text': 'hello\n'}]}
    md = build_docs._outputs_md(cell, tmp_path, 'img', 'cell', [0], True, {})
    assert md[0].startswith('<div class="nb-output nb-html"') and '<table>' in md[0] and 'dataframe' not in md[0] and '<style' not in md[0]
    assert md[1] == '<div class="nb-output" markdown="1">\n\n```text\nhello\n```\n\n</div>'
    assert build_docs._outputs_md(cell, tmp_path, 'img', 'cell', [0], True, {}, wrap=False)[1] == '```text\nhello\n```'
    png = lambda w, h: b'\x89PNG\r\n\x1a\n' + b'\0\0\0\rIHDR' + w.to_bytes(4, 'big') + h.to_bytes(4, 'big') + b'0' * 8
    wide = {'outputs': [{'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': base64.b64encode(png(2412, 792)).decode()}}]}
    md = build_docs._outputs_md(wide, tmp_path, 'img', 'cell', [0], True, {})[0]
    assert '[![](img/cell_1.png){ .nb-wide }](img/cell_1.png)' in md and 'Full-size image (2412 × 792 px)' in md
    (tmp_path / 'fig.png').write_bytes(png(2412, 792)); (tmp_path / 'small.png').write_bytes(png(600, 400))
    md = build_docs._wide_images('![a](fig.png)\n\nSee ![b](small.png) and ![d](fig.png).\n\n```\n![c](fig.png)\n```', tmp_path)
    assert md.count('.nb-wide }') == 2 and md.count('Full-size image') == 1 and '![b](small.png)' in md and '```\n![c](fig.png)\n```' in md
    import markdown
    h = markdown.markdown(md, extensions=['attr_list', 'md_in_html', 'pymdownx.superfences'])
    assert '<a href="fig.png" target="_blank"' in h and 'class="nb-wide"' in h and 'class="nb-wide-note"' in h


def test_full_outputs_skips_like_nbdev_test():
    flags = full_outputs._skip_flags()
    assert {'slow', 'gpu', 'notest'} <= flags
    assert full_outputs.skipped('#| slow\ntrain()', flags) and full_outputs.skipped('#| eval: false\nx', flags)
    assert not full_outputs.skipped('#| export\ndef f(): pass', flags) and not full_outputs.skipped('x = 1  # slow', flags)


def test_one_toc_entry_per_symbol():
    "A section heading naming a symbol and that symbol's show_doc heading give one table-of-contents entry, the section's."
    md = ('## Part\n\n### [`analyze_run`](analysis.html#analyze_run)\n\nIntro.\n\n```python\n### analyze_run\n```\n\n---\n\n'
          '### analyze_run\n\n```python\ndef analyze_run(G)\n```\n\n### other\n\n## [`f`](x.html#f)\n\n## Next\n\n### f\n')
    out = build_docs.dedupe_symbol_headings(md)
    assert '### `analyze_run`\n' in out and '<h3 class="nb-doc-heading">analyze_run</h3>' in out
    assert '```python\n### analyze_run\n```' in out                       # code is left alone
    assert '## [`f`](x.html#f)' in out and out.endswith('### f\n')       # another section in between: both kept
    import markdown
    h = markdown.markdown(out, extensions=['toc', 'md_in_html', 'pymdownx.superfences'])
    assert h.count('id="analyze_run"') == 1 and 'analyze_run_1' not in h


def test_every_notebook_has_the_python3_kernelspec():
    "JupyterLab opens every notebook without asking for a kernel (and so never writes one into a tracked notebook)."
    import json
    nbs = sorted((Path(__file__).resolve().parents[1] / 'nbs').rglob('*.ipynb'))
    assert nbs
    bad = [str(p) for p in nbs if '.ipynb_checkpoints' not in p.parts and json.loads(p.read_text())['metadata'].get('kernelspec', {}).get('name') != 'python3']
    assert bad == [], bad
