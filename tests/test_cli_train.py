"Integration tests of `group-agf train` run as a user would: in a subprocess, from the console script."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest

EXE = [str(Path(sys.executable).with_name('group-agf'))]


def run_cli(*args, cwd=None):
    return subprocess.run(EXE + list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


def only_run_dir(out):
    dirs = [p for p in Path(out).iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_train_d3_staircase(tmp_path):
    "A d3 run long enough to reach the middle plateau: exit 0, complete folder, plateau within 10% of 5.0."
    r = run_cli('train', 'd3', '--set', 'training.epochs=3000', '--out', str(tmp_path), '--no-plots')
    assert r.returncode == 0, r.stderr
    rd = only_run_dir(tmp_path)
    assert not (rd / 'INCOMPLETE').exists()
    for f in ['config.yaml', 'metrics.json', 'history.npz', 'checkpoints.pt']:
        assert (rd / f).is_file(), f
    m = json.loads((rd / 'metrics.json').read_text())
    for key in ['status', 'final_train_loss', 'wall_time_s', 'steps', 'theory', 'observed']:
        assert key in m, key
    assert m['status'] == 'complete'
    assert m['steps'] == 3000
    np.testing.assert_allclose(m['theory']['plateaus'], [505.0, 5.0, 0.0], atol=1e-9)
    observed = m['observed']['plateaus']
    assert abs(observed[0] - 505.0) / 505.0 < 0.10, observed
    assert abs(observed[1] - 5.0) / 5.0 < 0.10, observed
    with np.load(rd / 'history.npz') as h:
        assert h['train_loss'].shape == (3000,) and h['step'][-1] == 3000
        assert h['output_power'].shape == (len(h['ckpt_step']), 3)
    assert 'run folder:' in r.stdout


@pytest.mark.parametrize('preset', ['c10', 'c4x4', 'd3', 'octahedral', 'a5'])
def test_every_preset_runs(preset, tmp_path):
    r = run_cli('train', preset, '--set', 'training.epochs=2', '--out', str(tmp_path), '--no-plots', '--quiet')
    assert r.returncode == 0, r.stderr
    m = json.loads((only_run_dir(tmp_path) / 'metrics.json').read_text())
    assert m['status'] == 'complete' and m['epochs'] == 2 and np.isfinite(m['final_train_loss'])


BAD = [
    (['--set', 'training.lrr=0.1'], 'unknown key training.lrr; allowed: optimizer, lr,'),
    (['--set', 'data.k=1'], 'data.k must be >= 2'),
    (['--set', 'model.hidden_dim=-5'], 'model.hidden_dim must be a positive integer, got -5'),
    (['--set', 'data.template.powers=[1.0, 2.0]'], 'data.template:'),
    (['--set', 'data.mode=online'], 'training.steps must be a positive integer for data.mode=online'),
    (['--set', 'training.batch_size=big'], "training.batch_size must be int or null, got 'big'"),
]


@pytest.mark.parametrize('args,message', BAD)
def test_bad_config(args, message, tmp_path):
    out = tmp_path / 'runs'
    r = run_cli('train', 'd3', *args, '--out', str(out))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith('group-agf: error: ') and message in lines[0], lines[0]
    assert 'Traceback' not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_bad_config_file(tmp_path):
    cfg = tmp_path / 'bad.yaml'
    cfg.write_text('data:\n  group: Q8\n')
    r = run_cli('train', str(cfg), '--out', str(tmp_path / 'runs'))
    assert r.returncode == 2 and r.stderr.count('\n') == 1
    assert "data.group: Unknown group 'Q8'" in r.stderr


def test_out_is_a_file(tmp_path):
    "An --out that cannot hold a run folder is a one-line error, exit 2."
    f = tmp_path / 'notes.txt'
    f.write_text('x')
    r = run_cli('train', 'd3', '--set', 'training.epochs=2', '--out', str(f))
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert r.stderr.startswith('group-agf: error: output.dir: cannot create the run folder')
    r = subprocess.run(EXE + ['sweep', 'd3-seeds-lr', '--out', str(f)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert 'cannot write the sweep folder' in r.stderr.strip().splitlines()[-1]
