"`group-agf train`, `sweep` and `convert` on the original group-agf code's own files, run as a user would: in a subprocess."
import json, re, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
import torch
import yaml

EXE = [str(Path(sys.executable).with_name('group-agf'))]
SEED = Path('/work/shared/seed/configs')
needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason='the original configs are read from /work/shared/seed/configs')
CONFIGS = ['config.yaml', 'config_a5.yaml', 'config_c10.yaml', 'config_c4x4.yaml', 'config_d3.yaml', 'config_octahedral.yaml']
SAME = ['status', 'final_train_loss', 'final_val_loss', 'initial_train_loss', 'steps', 'epochs', 'group', 'k', 'n_params',
        'config_hash', 'theory', 'observed']


def run_cli(*args, cwd=None, timeout=900):
    return subprocess.run(EXE + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def metrics(out):
    dirs = [p for p in Path(out).iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return json.loads((dirs[0] / 'metrics.json').read_text())


@needs_seed
@pytest.mark.parametrize('name', CONFIGS)
def test_original_config_trains_like_its_conversion(name, tmp_path):
    "train OLD.yaml (epochs shortened with the original's own key) and train the converted file: the same metrics."
    r = run_cli('train', SEED / name, '--set', 'training.epochs=3', '--out', tmp_path / 'old', '--no-plots', '--quiet')
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    assert err[0] == f'group-agf: {SEED / name} is a config in the original group-agf format; translated key by key:'
    assert any(' -> data.group=' in l for l in err) and any(l.startswith('  no effect: ') for l in err)
    assert '  training.mode=offline, epochs=3 -> training.epochs=3' in err
    if not torch.cuda.is_available():
        assert any('CUDA is not available here, so this runs on CPU (the original falls back the same way)' in l for l in err)
    c = run_cli('convert', SEED / name, '-o', tmp_path / 'new.yaml')
    assert c.returncode == 0 and c.stderr.strip() == f"group-agf: wrote {tmp_path / 'new.yaml'}", c.stderr
    assert (tmp_path / 'new.yaml').read_text().startswith(f'# group_agf config converted from {name} (original group-agf format)')
    n = run_cli('train', tmp_path / 'new.yaml', '--set', 'training.epochs=3', '--out', tmp_path / 'new', '--no-plots', '--quiet')
    assert n.returncode == 0 and n.stderr == '', n.stderr
    a, b = metrics(tmp_path / 'old'), metrics(tmp_path / 'new')
    assert a['status'] == 'complete' and a['epochs'] == 3
    assert {k: a[k] for k in SAME} == {k: b[k] for k in SAME}


@needs_seed
def test_config_d3_prints_the_90_10_note_and_reports_validation(tmp_path):
    r = run_cli('train', SEED / 'config_d3.yaml', '--set', 'training.epochs=20', '--out', tmp_path, '--no-plots')
    assert r.returncode == 0, r.stderr
    assert any(l.startswith('  note: validation: the original holds out the last 10% of the 36 pairs (3)') for l in r.stderr.splitlines())
    m = metrics(tmp_path)
    assert m['final_val_loss'] is not None and 'validation loss:' in r.stdout
    cfg = yaml.safe_load((next(p for p in tmp_path.iterdir()) / 'config.yaml').read_text())
    assert cfg['data']['val_fraction'] == 3 / 36 and cfg['model']['type'] == 'TwoLayerNet'


@needs_seed
@pytest.mark.parametrize('name', ['example_sweep.yaml', 'learning_rate_sweep.yaml', 'model_size_sweep.yaml'])
def test_original_sweep_runs_like_its_conversion(name, tmp_path):
    "sweep OLD_SWEEP.yaml and sweep the converted file (epochs shortened from the command line): the same runs and losses."
    sets = ['--set', 'training.epochs=1', '--set', 'output.plots=false', '--set', 'output.save_checkpoints=false']
    r = run_cli('sweep', SEED / 'sweep_configs' / name, *sets, '--out', tmp_path / 'old', '--gpus', 'none', '--workers', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'group-agf: {SEED / "sweep_configs" / name} is a sweep' in r.stderr
    c = run_cli('convert', SEED / 'sweep_configs' / name, '-o', tmp_path / 'new.yaml')
    assert c.returncode == 0, c.stderr
    n = run_cli('sweep', tmp_path / 'new.yaml', *sets, '--out', tmp_path / 'new', '--gpus', 'none', '--workers', '2')
    assert n.returncode == 0, n.stderr[-3000:]
    a = pd.read_csv(tmp_path / 'old' / 'summary.csv').set_index('run_id').sort_index()
    b = pd.read_csv(tmp_path / 'new' / 'summary.csv').set_index('run_id').sort_index()
    assert list(a.index) == list(b.index) and len(a) == {'example_sweep.yaml': 2, 'learning_rate_sweep.yaml': 15, 'model_size_sweep.yaml': 12}[name]
    assert (a['status'] == 'complete').all()
    pd.testing.assert_series_equal(a['final_train_loss'], b['final_train_loss'])
    if name == 'learning_rate_sweep.yaml':
        assert 'left out 3 runs the original fails too (training.optimizer=hybrid' in r.stderr


@needs_seed
def test_onehot_scaling_sweep_dry_run_and_convert(tmp_path):
    "1200 grid points: the 280 with p^4 above the original's 10^6 sequences are left out, the 920 others validated."
    r = run_cli('sweep', '--pack', 'off', SEED / 'sweep_configs' / 'onehot_scaling_sweep.yaml', '--set', 'training.epochs=1', '--dry-run', '--out', tmp_path / 's')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'onehot_scaling_sweep.yaml is a sweep (920 runs)' in r.stderr
    assert 'left out 280 runs the original fails too (data.mode=exhaustive with more than the original\'s 1,000,000 sequences): k4_p35_h80' in r.stderr
    assert "sets data.dimension=1, the original's earlier group selector" in r.stderr
    assert 'sweep onehot_scaling_sweep: 920 runs' in r.stdout
    c = run_cli('convert', SEED / 'sweep_configs' / 'onehot_scaling_sweep.yaml', '-o', tmp_path / 'new.yaml')
    assert c.returncode == 0, c.stderr
    spec = yaml.safe_load((tmp_path / 'new.yaml').read_text())
    assert len(spec['experiments']) == 920 and spec['experiments'][0] == {'name': 'k2_p5_h80', 'overrides': {'data.group': 'C5', 'data.k': 2, 'model.hidden_dim': 80}}


BAD = [({'model': {'output_scale': 2.0}}, 'model.output_scale=2.0: cannot be kept: our TwoLayerNet has no output scale (only 1.0 translates)'),
       ({'training': {'optimizer': 'hybrid'}}, "training.optimizer=hybrid: the original's hybrid optimizer is for QuadraticRNN only; the model is a TwoLayerNet"),
       ({'output': {'dir': 'x'}}, "the config mixes the original group-agf format with group_agf's (output is a group_agf key): convert the original keys with group-agf convert, then edit")]


@needs_seed
@pytest.mark.parametrize('change,message', BAD)
def test_untranslatable_config_is_a_one_line_error(change, message, tmp_path):
    d = yaml.safe_load((SEED / 'config_d3.yaml').read_text())
    for s, kv in change.items(): d.setdefault(s, {}).update(kv)
    (tmp_path / 'bad.yaml').write_text(yaml.safe_dump(d))
    r = run_cli('train', tmp_path / 'bad.yaml', '--out', tmp_path / 'runs')
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert r.stderr == f'group-agf: error: {message}\n'
    assert not (tmp_path / 'runs').exists()
    c = run_cli('convert', tmp_path / 'bad.yaml')
    assert c.returncode == 2 and c.stderr == f'group-agf: error: {message}\n' and c.stdout == ''


@needs_seed
def test_convert_prints_and_refuses_our_format(tmp_path):
    r = run_cli('convert', SEED / 'config_c10.yaml')
    assert r.returncode == 0 and r.stderr == ''
    assert '#  data.group_name=cn, p=10 -> data.group=C10' in r.stdout
    assert yaml.safe_load(r.stdout)['data'] == {'group': 'C10', 'k': 3, 'seed': 10, 'template': {'type': 'onehot'}}
    (tmp_path / 'ours.yaml').write_text(r.stdout)
    o = run_cli('convert', tmp_path / 'ours.yaml')
    assert o.returncode == 2 and 'is not in the original group-agf format' in o.stderr and o.stderr.count('\n') == 1
    s = run_cli('train', SEED / 'sweep_configs' / 'example_sweep.yaml')
    assert s.returncode == 2 and 'is a sweep in the original format: run it with group-agf sweep' in s.stderr
    t = run_cli('sweep', SEED / 'config_d3.yaml', '--dry-run')
    assert t.returncode == 2 and 'is a config in the original format, not a sweep' in t.stderr


def test_help_of_every_subcommand():
    r = run_cli('train', '--help')
    assert r.returncode == 0
    for preset in ['c10', 'c4x4', 'd3', 'octahedral', 'a5']: assert f'\n  {preset} ' in r.stdout, preset
    assert 'examples:\n  group-agf train d3 --set training.epochs=3000 --out runs\n  group-agf train my_config.yaml' in r.stdout
    for cmd in ['groups', 'presets', 'plot', 'sweep', 'summarize', 'convert']:
        h = run_cli(cmd, '--help')
        assert h.returncode == 0 and h.stdout.lower().startswith('usage: group-agf ' + cmd), (cmd, h.stdout[:100])
    top = run_cli('--help').stdout
    for cmd in ['groups', 'presets', 'train', 'plot', 'sweep', 'summarize', 'convert']: assert re.search(rf'^    {cmd}\b', top, re.M), cmd


def test_groups_irreps():
    r = run_cli('groups', '--irreps', 'D5')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == 'D5: order 10, 4 irreps' and lines[1].split() == ['irrep', 'label', 'dim', 'type', 'weight', 'description']
    assert lines[3].split(None, 5) == ['irrep_0,0', '0,0', '1', 'real', '1', 'trivial']
    assert lines[4].split(None, 5) == ['irrep_1,0', '1,0', '1', 'real', '1', 'sign: +1 on rotations, -1 on reflections']
    assert lines[6].split(None, 5) == ['irrep_1,2', '1,2', '2', 'real', '2', 'rotation by 2 pi 2/5 on r, a reflection on s (frequency 2)']
    c = run_cli('groups', '--irreps', 'C6').stdout
    assert 'irrep_1  1        2  complex       1  rotation by 2 pi 1/6 (frequency 1)' in c
    b = run_cli('groups', '--irreps', 'Q8')
    assert b.returncode == 2 and b.stderr.count('\n') == 1 and "--irreps: Unknown group 'Q8'" in b.stderr


def test_sweep_set_on_our_own_format(tmp_path):
    r = run_cli('sweep', 'd3-seeds-lr', '--set', 'training.epochs=7', '--dry-run', '--out', tmp_path / 's')
    assert r.returncode == 0, r.stderr
    assert 'sweep d3-seeds-lr: 8 runs' in r.stdout
    b = run_cli('sweep', 'd3-seeds-lr', '--set', 'training.lr=0.5', '--dry-run')
    assert b.returncode == 2 and 'group-agf: error: --set training.lr: the sweep sets this key per run (grid or experiments)' in b.stderr
