"""Training speed of the five presets against a matmul-bound estimate.

For each preset: optimizer steps per second, total wall time of `group-agf train PRESET` at full length (or at
`--fraction` of it, extrapolated), and the matmul-bound estimate: FLOPs per step (forward + backward = 3x the forward
matmul FLOPs of a batch) divided by the measured float32 matmul rate of this machine.

    python benchmarks/bench_train.py               # full length (a few minutes on 2 cores)
    python benchmarks/bench_train.py --fraction 0.1
"""
import argparse, math, subprocess, sys, tempfile, time, json
from pathlib import Path
import torch
from group_agf.train import PRESETS, load_config, train
from group_agf.groups import get_group
from group_agf.models import build_model, flops_per_sample
from group_agf.train import _model_kwargs


def matmul_rate(n=1024, reps=20):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3): a @ b
    t = time.perf_counter()
    for _ in range(reps): a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fraction', type=float, default=1.0, help='fraction of each preset length to run (then extrapolated)')
    ap.add_argument('--presets', default=','.join(PRESETS))
    args = ap.parse_args()
    rate = matmul_rate()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32 matmul rate {rate / 1e9:.1f} GFLOP/s\n")
    rows = []
    for name in args.presets.split(','):
        full = load_config(name)
        epochs = max(1, int(round(full.training.epochs * args.fraction)))
        cfg = load_config(name, [f'training.epochs={epochs}', 'output.plots=false'])
        G = get_group(cfg.data.group)
        n = G.order ** cfg.data.k
        bs = n if cfg.training.batch_size is None else min(cfg.training.batch_size, n)
        steps_per_epoch = math.ceil(n / bs)
        model = build_model(_model_kwargs(cfg), G.order, cfg.data.k)
        flops_step = 3 * flops_per_sample(model) * n / steps_per_epoch  # average batch
        bound_full = flops_step * steps_per_epoch * full.training.epochs / rate
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            r = subprocess.run([str(Path(sys.executable).with_name('group-agf')), 'train', name, '--quiet', '--no-plots',
                                '--set', f'training.epochs={epochs}', '--out', tmp], capture_output=True, text=True)
            total = time.perf_counter() - t
            if r.returncode != 0: sys.exit(r.stderr)
            m = json.loads(next(Path(tmp).glob('*/metrics.json')).read_text())
        scale = full.training.epochs / epochs
        train_full = m['wall_time_s'] * scale
        rows.append((name, full.training.epochs, steps_per_epoch * full.training.epochs, m['steps_per_s'], train_full,
                     (total - m['wall_time_s']) + train_full, bound_full, train_full / bound_full, m['final_train_loss']))
    head = ('preset', 'epochs', 'steps', 'steps/s', 'train s', 'command s', 'matmul-bound s', 'x bound', 'final loss')
    fmt = '{:<11}{:>7}{:>9}{:>10}{:>10}{:>11}{:>16}{:>9}{:>12}'
    print(fmt.format(*head))
    for r in rows:
        print(fmt.format(r[0], r[1], r[2], f'{r[3]:.0f}', f'{r[4]:.1f}', f'{r[5]:.1f}', f'{r[6]:.1f}', f'{r[7]:.1f}', f'{r[8]:.4g}'))
    if args.fraction != 1.0: print(f"\n(times extrapolated from {args.fraction:g} of each run; 'command s' adds the measured start-up)")


if __name__ == '__main__':
    main()
