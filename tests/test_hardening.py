"""Bad inputs and faults, each handled as the package promises: a one-line error naming the key and what is allowed
(exit 2, nothing written), or the run handled as a run (diverged: exit 3; interrupted: a resumable folder, exit 130 or
143; a sweep with failed or diverged runs: exit 1). One test per row of the hardening table, run as a user would."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import yaml

from group_agf.config import Config, ConfigError, load_config
from group_agf.groups import get_group
from group_agf.train import train


def _sigint_default():
    "Give the child the default Ctrl-C disposition: a shell starts background jobs (`make test &`) with SIGINT ignored, and Python then installs no KeyboardInterrupt handler."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

EXE = [sys.executable, '-c', 'import sys; from group_agf.cli import main; sys.exit(main(sys.argv[1:]))']


def cli(*args, cwd=None, timeout=300):
    return subprocess.run(EXE + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def one_line_error(r, code=2) -> str:
    "The exit code is `code` and stderr is exactly one line, with no traceback; returns that line."
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert 'Traceback' not in r.stderr, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def tree(path) -> list: return sorted(str(p.relative_to(path)) for p in Path(path).rglob('*'))


# 1 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('value, shown', [('.nan', 'nan'), ('.inf', 'inf')])
def test_non_finite_learning_rate(tmp_path, value, shown):
    r = cli('train', 'd3', '--set', f'training.lr={value}', '--out', tmp_path / 'o')
    assert one_line_error(r) == f'group-agf: error: training.lr must be a finite number, got {shown}'
    assert not (tmp_path / 'o').exists()
    with pytest.raises(ConfigError, match='training.lr must be a finite number, got nan'):
        train({'training': {'lr': float('nan')}}, save=False)


# 2, 3 ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('sets', [['training.lr=100', 'training.grad_clip=null'], ['training.lr=100'], ['training.lr=100', 'model.init_scale=10']])
def test_blown_up_run_is_diverged(tmp_path, sets):
    "With or without clipping, a loss that grows 100x above its start is a diverged run: its folder says so, exit 3, one line."
    r = cli('train', 'd3', '--set', 'training.epochs=200', '--no-plots', '--out', tmp_path, *[a for s in sets for a in ('--set', s)])
    line = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 3 and len(line) == 1 and 'Traceback' not in r.stderr, r.stderr
    assert line[0].startswith('group-agf: the run diverged: loss ')
    rd = next(Path(tmp_path).iterdir())
    m = json.loads((rd / 'metrics.json').read_text())
    assert m['status'] == 'diverged' and m['observed']['order_matches_theory'] is None and not (rd / 'INCOMPLETE').exists()
    assert 'order matches theory' not in r.stdout


# 4, 5 ----------------------------------------------------------------------------------------------------------
def test_huge_model_is_refused_from_the_config(tmp_path):
    t = time.perf_counter()
    r = cli('train', 'd3', '--set', 'model.hidden_dim=1000000000', '--out', tmp_path / 'o')
    line = one_line_error(r)
    assert 'this run needs about 7711.4 GB (18,000,000,000 parameters at model.hidden_dim=1000000000, float32)' in line
    assert line.endswith('make it smaller or raise training.max_memory_gb')
    assert time.perf_counter() - t < 30 and not (tmp_path / 'o').exists()


def test_huge_group_is_refused_before_it_is_built(tmp_path):
    r = cli('train', 'd3', '--set', 'data.group=C1000000', '--set', 'data.template={type: onehot}', '--out', tmp_path / 'o')
    assert one_line_error(r) == ('group-agf: error: data.group=C1000000 has 1,000,000 elements, above data.max_group_order=10,000 '
                                 '(its Cayley table alone has 1,000,000,000,000 entries); raise data.max_group_order to allow it')
    with pytest.raises(ValueError, match=r'C1000000 has 1,000,000 elements, above max_order=10,000'):
        get_group('C1000000')


# 6 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('command', ['train', 'sweep'])
def test_binary_file(tmp_path, command):
    (tmp_path / 'bin.yaml').write_bytes(Path('/bin/ls').read_bytes()[:2000])
    r = cli(command, tmp_path / 'bin.yaml', cwd=tmp_path)
    line = one_line_error(r)
    assert 'bin.yaml: not a YAML text file' in line, line
    assert tree(tmp_path) == ['bin.yaml']


# 7, 14 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name, msg', [('../../escape', "output.name must be a plain file name (no path separators, not . or .., no leading or trailing spaces), got '../../escape'"),
                                       ('x' * 300, 'output.name has 300 characters; at most 100 (the run folder adds a time stamp and a hash)')])
def test_run_names_are_file_names(tmp_path, name, msg):
    (tmp_path / 'o7').mkdir()
    r = cli('train', 'd3', '--set', f'output.name={name}', '--out', 'o7/x', cwd=tmp_path)
    assert one_line_error(r) == f'group-agf: error: {msg}'
    assert tree(tmp_path) == ['o7']


# 8 and the resume test -------------------------------------------------------------------------------------------
def _start_train(tmp_path, epochs):
    p = subprocess.Popen(EXE + ['train', 'd3', '--set', f'training.epochs={epochs}', '--no-plots', '--quiet', '--out', str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    t0 = time.time()
    while time.time() - t0 < 60:                                    # wait until training has started
        dirs = list(Path(tmp_path).glob('*/INCOMPLETE'))
        if dirs: break
        time.sleep(0.05)
    time.sleep(1.0)
    return p, dirs[0].parent


@pytest.mark.parametrize('sig, code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_train_resumes_bit_for_bit(tmp_path, sig, code):
    "A real `group-agf train` process interrupted by SIGINT or SIGTERM records what it has (status incomplete, resume.pt), exits 130/143 with one line; `--resume` finishes it, and the loss history equals the never-interrupted run's, bit for bit."
    epochs = 40000
    p, rd = _start_train(tmp_path, epochs)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    line = one_line_error(subprocess.CompletedProcess(p.args, p.returncode, '', err), code)
    assert line.startswith(f"group-agf: interrupted by {'Ctrl-C' if sig == signal.SIGINT else 'SIGTERM'}; continue with: group-agf train --resume ")
    m = json.loads((rd / 'metrics.json').read_text())
    assert m['status'] == 'incomplete' and 0 < m['epochs'] < epochs
    assert (rd / 'INCOMPLETE').exists() and (rd / 'resume.pt').exists()
    with np.load(rd / 'history.npz') as h: assert len(h['train_loss']) == m['epochs']
    r = cli('train', '--resume', rd, '--quiet')
    assert r.returncode == 0, r.stderr
    m2 = json.loads((rd / 'metrics.json').read_text())
    assert m2['status'] == 'complete' and m2['resumed_from'] == [m['epochs']] and not (rd / 'resume.pt').exists()
    full = train(load_config('d3', [f'training.epochs={epochs}']), save=False)
    with np.load(rd / 'history.npz') as h:
        np.testing.assert_array_equal(h['train_loss'], full.history['train_loss'])
        np.testing.assert_array_equal(h['output_power'], full.history['output_power'])


# 9 -------------------------------------------------------------------------------------------------------------
def test_ctrl_c_during_plot(tmp_path):
    r = train(load_config('d3', ['training.epochs=300']), out_dir=tmp_path, plots=False)
    p = subprocess.Popen(EXE + ['plot', str(r.run_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    time.sleep(2.0)                                                  # in the middle of importing or drawing
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    if p.returncode == 0: pytest.skip('the figures were done before the signal arrived')
    assert one_line_error(subprocess.CompletedProcess(p.args, p.returncode, '', err), 130) == 'group-agf: interrupted'


# 10 ------------------------------------------------------------------------------------------------------------
def test_duplicate_yaml_key(tmp_path):
    (tmp_path / 'dup.yaml').write_text('data:\n  group: D3\ntraining:\n  lr: 0.01\n  epochs: 10\n  lr: 0.02\n')
    r = cli('train', tmp_path / 'dup.yaml', '--out', tmp_path / 'o')
    assert one_line_error(r) == f"group-agf: error: {tmp_path / 'dup.yaml'}: not valid YAML (duplicate key 'lr' (line 6))"


# 11, 12, 13 ----------------------------------------------------------------------------------------------------
def test_numpy_numbers_are_numbers():
    r = train({'model': {'hidden_dim': np.int64(8)}, 'training': {'lr': np.float32(0.01), 'epochs': np.int32(3)}}, save=False)
    assert r.status == 'complete' and r.model.hidden_dim == 8 and r.config.training.lr == float(np.float32(0.01))


@pytest.mark.parametrize('edit, msg', [(lambda c: setattr(c.model, 'hidden_dim', -5), 'model.hidden_dim must be a positive integer, got -5'),
                                       (lambda c: setattr(c.data, 'group', 'ZZ'), "data.group: Unknown group 'ZZ'")])
def test_edited_config_is_validated_again(tmp_path, edit, msg):
    c = load_config('d3')
    edit(c)
    with pytest.raises(ConfigError) as e: train(c, out_dir=tmp_path)
    assert msg in str(e.value) and len(str(e.value).splitlines()) == 1
    assert tree(tmp_path) == []


def test_negative_seed_is_named():
    with pytest.raises(ConfigError, match=r'data.seed must be an integer in \[0, 2\*\*32\), got -1'):
        load_config('d3', ['data.group=C8', 'data.template={type: fourier}', 'data.seed=-1'])


# 15 ------------------------------------------------------------------------------------------------------------
def test_sweep_of_diverged_runs_exits_1(tmp_path):
    (tmp_path / 'div.yaml').write_text(yaml.safe_dump({'name': 'div', 'base': 'd3', 'seeds': 2,
        'overrides': {'training.epochs': 60, 'training.lr': 1000.0, 'output.plots': False}}))
    r = subprocess.run([sys.executable, '-c', 'import sys; from group_agf.cli import main; sys.exit(main(sys.argv[1:]))', 'sweep',
                        str(tmp_path / 'div.yaml'), '--out', str(tmp_path / 'out'), '--workers', '1', '--gpus', 'none'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert f"group-agf sweep: 2 runs diverged of 2; see the status column of {tmp_path / 'out' / 'summary.csv'}" in r.stderr
