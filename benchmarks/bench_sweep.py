"""Sweep overhead and throughput: N tiny d3 runs done directly with `train`, then through `run_sweep`.

Rows (every row uses 1 torch thread per run, so that only the sweep machinery differs):
  direct train         N `train(config, run_dir=...)` calls in this process, one after the other: the baseline
  sweep, thread x1     `run_sweep` on a ThreadPoolExecutor(1): expansion, bookkeeping, run folders, summary tables
  sweep, local x1      `run_sweep` on a LocalExecutor with 1 worker process (spawn and imports included)
  sweep, local x2      the same with 2 worker processes
  worker start-up      time for a fresh LocalExecutor to answer one call per worker (spawn + `import group_agf.sweep`)
overhead/run = (wall - direct wall) / N; speedup = direct wall / wall. Figures are left out (`plots=False`).
Usage: python benchmarks/bench_sweep.py [--runs 16] [--epochs 200]
"""
import argparse, os, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from group_agf.sweep import LocalExecutor, _worker_info, expand_sweep, run_sweep
from group_agf.train import train


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=16)
    ap.add_argument('--epochs', type=int, default=200)
    a = ap.parse_args()
    spec = {'name': 'bench', 'base': 'd3', 'seeds': a.runs,
            'overrides': {'training.epochs': a.epochs, 'output.plots': False, 'output.save_checkpoints': False}}
    runs = expand_sweep(spec)
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        train(runs[0].config, run_dir=Path(d, 'warmup'), progress=False, quiet=True)  # imports, group cache
        t0 = time.perf_counter()
        for r in runs: train(r.config, run_dir=Path(d, 'direct', r.run_id), progress=False, quiet=True)
        base = time.perf_counter() - t0
        rows.append(('direct train', 1, base))
        for label, workers in [('sweep, thread x1', 1), ('sweep, local x1', 1), ('sweep, local x2', 2)]:
            out = Path(d, label.replace(', ', '-').replace(' ', ''))
            t0 = time.perf_counter()
            ex = ThreadPoolExecutor(1) if 'thread' in label else LocalExecutor(workers, gpus='none', threads=1)
            with ex: res = run_sweep(spec, out, executor=ex, progress=False, plots=False)
            wall = time.perf_counter() - t0
            assert len(res.completed) == a.runs and not res.failed, res
            rows.append((label, workers, wall))
        t0 = time.perf_counter()
        with LocalExecutor(2, gpus='none', threads=1) as ex: [f.result() for f in [ex.submit(_worker_info) for _ in range(2)]]
        startup = time.perf_counter() - t0
    print(f'{a.runs} runs of d3 x {a.epochs} full-batch epochs, {os.cpu_count()} CPU cores, 1 torch thread per run')
    print(f"{'mode':18s} {'workers':>7s} {'wall s':>8s} {'s/run':>7s} {'runs/s':>7s} {'overhead/run s':>15s} {'speedup':>8s}")
    for label, w, wall in rows:
        print(f'{label:18s} {w:7d} {wall:8.2f} {wall / a.runs:7.3f} {a.runs / wall:7.2f} {(wall - base) / a.runs:15.3f} {base / wall:8.2f}')
    print(f"{'worker start-up':18s} {2:7d} {startup:8.2f}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
