"""Time `group_agf.power.output_power` on A5 at the size a long run records: C=200 checkpoints x N=3600 inputs x |G|=60.

Run: `.venv/bin/python benchmarks/bench_power.py [--repeat 3]`. Prints one row per input kind (best of `--repeat`), and,
for reference, the per-checkpoint loop over `power_spectrum` that a straightforward implementation would use.
"""
import argparse, os, time
import numpy as np
import torch
from group_agf.groups import get_group
from group_agf.power import output_power, power_spectrum


def best_time(fn, repeat):
    fn()                                             # warm-up (thread pools, allocator)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--group', default='A5')
    ap.add_argument('--checkpoints', type=int, default=200)
    ap.add_argument('--inputs', type=int, default=3600)
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    G = get_group(a.group)
    rng = np.random.default_rng(0)
    y64 = rng.normal(size=(a.checkpoints, a.inputs, G.order))
    y32 = y64.astype(np.float32)
    ref = output_power(G, y64)
    cases = [
        ('output_power, numpy float64', lambda: output_power(G, y64)),
        ('output_power, numpy float32', lambda: output_power(G, y32)),
        ('output_power, torch float32 (CPU)', lambda: output_power(G, torch.from_numpy(y32))),
        ('loop of power_spectrum, numpy float64', lambda: np.stack([power_spectrum(G, c).mean(0) for c in y64])),
    ]
    if torch.cuda.is_available():
        yc = torch.from_numpy(y32).cuda()
        def cuda_case():
            out = output_power(G, yc); torch.cuda.synchronize(); return out
        cases.append(('output_power, torch float32 (CUDA)', cuda_case))
    print(f"group {G.name} (|G| = {G.order}), C = {a.checkpoints} checkpoints, N = {a.inputs} inputs; "
          f"torch threads {torch.get_num_threads()}, CPUs {os.cpu_count()}")
    rows = []
    for name, fn in cases:
        t = best_time(fn, a.repeat)
        out = fn()
        out = out.cpu().numpy() if isinstance(out, torch.Tensor) else out
        rows.append((name, t, float(np.abs(out - ref).max() / np.abs(ref).max())))
    w = max(len(r[0]) for r in rows)
    print(f"{'method'.ljust(w)}  {'time (s)':>9}  {'max rel. diff':>13}")
    print(f"{'-' * w}  {'-' * 9}  {'-' * 13}")
    for name, t, err in rows: print(f"{name.ljust(w)}  {t:9.3f}  {err:13.1e}")


if __name__ == '__main__':
    main()
