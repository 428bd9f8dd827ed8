"Integration tests of group_agf.sweep: local process pool, a real Dask LocalCluster, failures, resume, Ctrl-C, CLI."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from group_agf.train import train
from group_agf.sweep import (LocalExecutor, SweepError, _train_run, expand_sweep, run_state, run_sweep, summarize,
                             summarize_main, sweep_main)

# a shortened d3 run: 2 x 2 grid x 2 seeds = 8 runs of a fraction of a second each
SPEC = {'name': 'grid-seeds', 'base': 'd3',
        'overrides': {'training.epochs': 40, 'training.log_every': 10, 'output.plots': False,
                      'output.save_checkpoints': False},
        'grid': {'model.hidden_dim': [24, 48], 'training.lr': [0.01, 0.02]}, 'seeds': 2}


def _sigint_default():
    "Give the child the default Ctrl-C disposition: a shell starts background jobs (`make test &`) with SIGINT ignored, and Python then installs no KeyboardInterrupt handler."
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope='module')
def local_sweep(tmp_path_factory):
    "The sweep run once with the default local executor (2 CPU workers); shared by the tests below."
    d = tmp_path_factory.mktemp('local') / 'sw'
    t0 = time.perf_counter()
    res = run_sweep(SPEC, d, workers=2, gpus='none', progress=False)
    return res, time.perf_counter() - t0


def test_local_grid_seeds(local_sweep):
    res, wall = local_sweep
    s = res.summary
    assert len(s) == 8 and len(res.completed) == 8 and not res.failed and not res.skipped
    assert list(s.run_id) == [r.run_id for r in expand_sweep(SPEC)]
    assert set(s.status) == {'complete'}
    assert list(s.columns[:5]) == ['run_id', 'model.hidden_dim', 'training.lr', 'seed', 'status']
    assert s.final_train_loss.notna().all() and (s.steps > 0).all()
    agg = pd.read_csv(res.sweep_dir / 'aggregate.csv')
    assert len(agg) == 4 and (agg.n_runs == 2).all() and (agg.success_rate == 1).all()
    for f in ('sweep.yaml', 'runs.json', 'runs.csv', 'summary.csv'): assert (res.sweep_dir / f).is_file()
    assert len(list((res.sweep_dir / 'figures').glob('*.png'))) >= 2
    # two workers, each with its own process and a share of the cores
    infos = [json.loads((res.sweep_dir / 'runs' / r / 'worker.json').read_text()) for r in res.completed]
    assert 1 <= len({i['pid'] for i in infos}) <= 2 and os.getpid() not in {i['pid'] for i in infos}
    assert {i['threads'] for i in infos} == {max(1, (os.cpu_count() or 1) // 2)}
    print(f'local sweep of 8 runs with 2 workers: {wall:.1f} s')


def test_dask_same_summary(local_sweep, tmp_path):
    distributed = pytest.importorskip('distributed')
    res0, _ = local_sweep
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = run_sweep(SPEC, tmp_path / 'dask', executor=client.get_executor(pure=False), progress=False, plots=False)
    a, b = res0.summary, res.summary
    assert list(a.run_id) == list(b.run_id)
    assert list(a.status) == list(b.status)
    assert list(a.final_train_loss) == list(b.final_train_loss)  # CPU training is deterministic
    assert list(a.steps) == list(b.steps)


def flaky(config, run_dir):
    "A run function that fails for one configuration (hidden_dim 48 with lr 0.02)."
    if config.model.hidden_dim == 48 and config.training.lr == 0.02: raise RuntimeError('simulated failure')
    return _train_run(config, run_dir)


def test_failure_recorded(tmp_path):
    spec = {**SPEC, 'seeds': 1}
    res = run_sweep(spec, tmp_path / 'f', workers=2, gpus='none', run_fn=flaky, progress=False, plots=False)
    assert len(res.failed) == 1 and len(res.completed) == 3
    s = res.summary.set_index('run_id')
    bad = res.failed[0]
    assert s.loc[bad, 'status'] == 'failed' and s.loc[bad, 'error'] == 'RuntimeError: simulated failure'
    assert 'Traceback' in (tmp_path / 'f' / 'runs' / bad / 'error.txt').read_text()
    assert json.loads((tmp_path / 'f' / 'runs' / bad / 'metrics.json').read_text())['status'] == 'failed'
    assert (s.drop(index=bad).status == 'complete').all()
    # the failed run is retried next time (here with the real train), the others are skipped
    res2 = run_sweep(spec, tmp_path / 'f', workers=2, gpus='none', progress=False, plots=False)
    assert sorted(res2.skipped) == sorted(res.completed) and res2.completed == [bad] and not res2.failed


def test_resume(local_sweep, tmp_path):
    res0, _ = local_sweep
    d = tmp_path / 'copy'
    shutil.copytree(res0.sweep_dir, d)
    victim = res0.runs[5].run_id
    rd = d / 'runs' / victim
    (rd / 'metrics.json').unlink()  # an interrupted run: partial folder, marked INCOMPLETE
    (rd / 'INCOMPLETE').write_text('interrupted\n')
    (rd / 'stale.txt').write_text('left over from the interrupted attempt\n')
    assert run_state(rd) == 'incomplete'
    res = run_sweep(SPEC, d, workers=2, gpus='none', progress=False, plots=False)
    assert len(res.skipped) == 7 and res.completed == [victim] and not res.failed
    assert not (rd / 'stale.txt').exists() and not (rd / 'INCOMPLETE').exists()
    assert list(res.summary.final_train_loss) == list(res0.summary.final_train_loss)
    # --no-resume runs everything again
    res = run_sweep({**SPEC, 'grid': {'model.hidden_dim': [24], 'training.lr': [0.01]}}, d, workers=1, gpus='none',
                    resume=False, progress=False, summarize_results=False)
    assert len(res.completed) == 2 and not res.skipped


def test_local_executor_pins_gpus():
    "Each worker takes one GPU id from the list (checked with fake ids, so it runs without GPUs)."
    with LocalExecutor(2, gpu_ids=['3', '5']) as ex:
        infos = list(ex.map(probe, [1.0] * 4))
    assert {i[0] for i in infos} == {'3', '5'}
    assert len({i[1] for i in infos}) == 2
    assert {i[2] for i in infos} == {str(max(1, (os.cpu_count() or 1) // 2))}


def probe(delay):
    time.sleep(delay)
    return os.environ.get('CUDA_VISIBLE_DEVICES'), os.getpid(), os.environ.get('OMP_NUM_THREADS')


def test_cli_errors_and_dry_run(tmp_path, capsys):
    bad = {'name': 'bad', 'base': 'd3', 'grid': {'model.hidden_dim': [], 'model.widht': [1]},
           'experiments': [{'name': 'a'}, {'name': 'a'}]}
    p = tmp_path / 'bad.yaml'
    p.write_text(yaml.safe_dump(bad))
    assert sweep_main([str(p)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith('group-agf sweep: error: ') for line in err)
    assert 'Traceback' not in '\n'.join(err)
    with pytest.raises(SweepError):
        expand_sweep(bad)
    assert sweep_main(['d3-seeds-lr', '--dry-run', '--out', str(tmp_path / 'x')]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"sweep d3-seeds-lr: 8 runs -> {tmp_path / 'x'}" and len(out) == 10
    assert not (tmp_path / 'x').exists()
    assert sweep_main(['no-such-sweep']) == 2
    assert summarize_main([str(tmp_path)]) == 2
    assert sweep_main(['d3-seeds-lr', '--executor', 'local', '--scheduler', 'tcp://x:1']) == 2


def test_ctrl_c_then_resume(tmp_path):
    "SIGINT stops the sweep cleanly (exit 130, finished runs intact); running again finishes the rest."
    spec = {**SPEC, 'name': 'slow', 'overrides': {**SPEC['overrides'], 'training.epochs': 400}}
    (tmp_path / 'slow.yaml').write_text(yaml.safe_dump(spec))
    out = tmp_path / 'out'
    cmd = [sys.executable, '-c', 'import sys; from group_agf.sweep import sweep_main; sys.exit(sweep_main(sys.argv[1:]))',
           str(tmp_path / 'slow.yaml'), '--out', str(out), '--workers', '2', '--gpus', 'none', '--pack', 'off']
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    t0 = time.time()
    while time.time() - t0 < 60:
        if (out / 'runs').is_dir() and any(run_state(r) == 'complete' for r in (out / 'runs').iterdir()): break
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert 'interrupted' in err and 'Traceback' not in err
    states = [run_state(r) for r in (out / 'runs').iterdir()]
    n_done = states.count('complete')
    assert 1 <= n_done < 8 and set(states) <= {'complete', 'incomplete'}
    res = run_sweep(spec, out, workers=2, gpus='none', progress=False, plots=False, pack='off')
    assert len(res.skipped) == n_done and len(res.completed) == 8 - n_done and not res.failed


def test_interrupted_pack_resumes_exactly(tmp_path):
    "SIGINT in the middle of a packed sweep: the workers stop at the end of an epoch and save resume.pt; the next call resumes every run, and each ends bit for bit as the same run trained alone, never interrupted."
    spec = {'name': 'packed', 'base': 'd3', 'overrides': {'training.epochs': 10000, 'output.plots': False},
            'grid': {'training.lr': [0.01, 0.02]}, 'seeds': 2}
    (tmp_path / 'packed.yaml').write_text(yaml.safe_dump(spec))
    out = tmp_path / 'out'
    cmd = [sys.executable, '-c', 'import sys; from group_agf.sweep import sweep_main; sys.exit(sweep_main(sys.argv[1:]))',
           str(tmp_path / 'packed.yaml'), '--out', str(out), '--workers', '1', '--gpus', 'none']
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    t0 = time.time()
    while time.time() - t0 < 60:
        if (out / 'runs').is_dir() and len(list((out / 'runs').glob('*/INCOMPLETE'))) == 4: break
        time.sleep(0.05)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    runs = sorted((out / 'runs').iterdir())
    assert [run_state(r) for r in runs] == ['incomplete'] * 4
    assert all((r / 'resume.pt').exists() for r in runs), err
    res = run_sweep(spec, out, workers=1, gpus='none', progress=False, plots=False)
    assert len(res.completed) == 4 and not res.failed
    for r in res.runs:
        m = json.loads((out / 'runs' / r.run_id / 'metrics.json').read_text())
        assert m['status'] == 'complete' and m['resumed_from'] and m['resumed_from'][0] > 0
        alone = train(r.config, save=False)
        assert (np.load(out / 'runs' / r.run_id / 'history.npz')['train_loss'] == alone.history['train_loss']).all()
