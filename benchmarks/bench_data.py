"""Timings of dataset building, group loading and Fourier transforms (a table, not a test).

Run: .venv/bin/python benchmarks/bench_data.py
Each row gives the first call and the best of several repeats (the group cache is warmed first; the A5 load runs in a fresh subprocess).
"""
import subprocess, sys, time
import numpy as np
import torch
from group_agf.groups import get_group
from group_agf.fourier import fourier_transform, inverse_fourier_transform
from group_agf.templates import one_hot, from_powers, fourier_modes
from group_agf.data import make_dataset, OnlineSampler


def best(fn, repeat=5):
    "(first call, best of `repeat` further calls) wall times of `fn`, in seconds."
    t = time.perf_counter(); fn(); first = time.perf_counter() - t
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return first, min(ts)


def fresh_a5():
    code = ("import time; t=time.perf_counter(); from group_agf.groups import get_group; "
            "get_group('A5'); print(time.perf_counter()-t)")
    ts = [float(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout)
          for _ in range(3)]
    return ts[0], min(ts)


def main():
    C44, A5, D3 = get_group('C4xC4'), get_group('A5'), get_group('D3')
    t44 = fourier_modes(C44, n_modes=1, seed=10)
    tA5 = from_powers(A5, [0, 1300, 0, 2000, 0])
    tD3 = from_powers(D3, [0, 30, 3000])
    xb = np.random.default_rng(0).normal(size=(10000, 60))
    smp = OnlineSampler(A5, tA5, k=3, batch_size=4096, seed=0)
    rows = [
        ('exhaustive C4xC4, k=3 (4,096 seqs)', best(lambda: make_dataset(C44, t44, k=3)), 0.05),
        ('exhaustive A5 pairs (3,600 seqs)', best(lambda: make_dataset(A5, tA5, k=2)), 0.05),
        ('sampled D3, k=5, 1,000,000 seqs', best(lambda: make_dataset(D3, tD3, k=5, mode='sampled', n_samples=1_000_000), 3), 2.0),
        ('online A5, k=3, batch 4,096 (one batch)', best(lambda: smp.sample(), 20), None),
        ('A5 from warm cache, fresh process', fresh_a5(), 0.5),
        ('A5 Fourier fwd+inv, (10000, 60) float64', best(lambda: inverse_fourier_transform(A5, fourier_transform(A5, xb)), 5), 0.05),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'benchmark'.ljust(w)}  {'first':>10}  {'best':>10}  {'target':>8}  ok")
    print('-' * (w + 38))
    for name, (first, t), target in rows:
        ok = '' if target is None else ('yes' if t < target else 'NO')
        tgt = '' if target is None else f'< {target * 1e3:g} ms' if target < 1 else f'< {target:g} s'
        print(f"{name.ljust(w)}  {first * 1e3:7.1f} ms  {t * 1e3:7.1f} ms  {tgt:>8}  {ok}")
    print(f"(torch {torch.__version__}, {torch.get_num_threads()} threads, numpy {np.__version__})")


if __name__ == '__main__':
    main()
