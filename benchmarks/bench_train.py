"""Training speed: the package against plain torch loops, the code it replaced, and the matmul bound.

Prints one table; every row is a measurement beside its yardstick, as a ratio (medians of paired runs, so a machine
whose speed drifts during the benchmark still gives a fair ratio):

1. float32 matmul rate (1 thread), measured once the machine is idle (best of several tries)
2. d3, 2000 epochs, 1 thread: the training loop's steps/s against a plain torch autograd loop of the same shapes
3. a5 preset (batches of 128 from 3600 pairs, width 1200), 1 thread: the loop against a plain torch loop, and
   both against the matmul bound
4. checkpoints and output power: d3 at 2000 epochs with the default 100 checkpoints against 2
5. `group-agf train d3 --set training.epochs=2000` with figures, whole process: against the same command of a
   baseline commit (`--baseline REF`, default: the last commit before the speed work)
6. a sweep of 64 d3 runs (16 seeds x 4 learning rates, 2000 epochs, no figures) against one `group-agf train`
   process of one such run (no figures)
7. octahedral, 100 epochs, with two other busy processes on the machine: automatic threads against 1 and 2 threads

    python benchmarks/bench_train.py                 # everything (about 10 minutes on 2 cores)
    python benchmarks/bench_train.py --only 2,3      # some rows
    python benchmarks/bench_train.py --pairs 5       # more paired runs per row
"""
import argparse, json, math, os, statistics, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BASELINE = '891e6b7'  # the last commit before the packed loop and the fused step


def running_tasks() -> int:
    try: return int(Path('/proc/loadavg').read_text().split()[3].split('/')[0]) - 1
    except (OSError, ValueError, IndexError): return 0


def wait_idle(max_wait=120.0):
    "Wait until no other task is runnable (3 reads in a row), at most `max_wait` seconds; return whether it was reached."
    t0, quiet = time.time(), 0
    while time.time() - t0 < max_wait:
        quiet = quiet + 1 if running_tasks() == 0 else 0
        if quiet >= 3: return True
        time.sleep(0.2)
    return False


def matmul_rate(n=512, reps=40, tries=7):
    "float32 matmul FLOP/s on 1 thread: the best of `tries` (the least disturbed one)."
    import torch
    prev = torch.get_num_threads(); torch.set_num_threads(1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = 0.0
    for _ in range(tries):
        for _ in range(3): a @ b
        t = time.perf_counter()
        for _ in range(reps): a @ b
        best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t))
    torch.set_num_threads(prev)
    return best


_NEUTRAL = tempfile.mkdtemp(prefix='group_agf-bench-')  # the working directory of every command: `python -c` puts the cwd first on
                                                       # sys.path, so the checkout's own package would shadow PYTHONPATH

def run(cmd, env=None, cwd=None, timeout=1800) -> float:
    "Wall seconds of one whole process (run from a neutral folder, so that PYTHONPATH decides which code runs); raises with its stderr if it fails."
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd or _NEUTRAL, timeout=timeout)
    wall = time.perf_counter() - t
    if r.returncode != 0: raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return wall


def paired(a, b, pairs) -> tuple:
    "Median of `a()` and `b()` times and the median of the pairwise ratios a/b, running a b a b ..."
    ta, tb = [], []
    for _ in range(pairs):
        ta.append(a()); tb.append(b())
    return statistics.median(ta), statistics.median(tb), statistics.median(x / y for x, y in zip(ta, tb))


def script(code: str) -> list: return [PY, '-c', textwrap.dedent(code)]


# ---------------------------------------------------------------------------------------------------------- loops
LOOP = '''
import sys, time, torch
if {one_thread}: torch.set_num_threads(1)
from group_agf.train import train, load_config
cfg = load_config({preset!r}, {over!r} + ['output.plots=false'])
r = train(cfg, save=False, progress=False)
print(r.metrics['wall_time_s'], r.metrics['steps'])
'''

# the same shapes as the package's run, written as anyone would: autograd, gradient clipping, SGD
PLAIN = '''
import time, torch, math
torch.set_num_threads(1)
torch.manual_seed(0)
G, H, N, B, epochs, lr, init = {G}, {H}, {N}, {B}, {epochs}, {lr}, {init}
X, Y = torch.randn(N, 2, G), torch.randn(N, G)
U = (torch.randn(H, G) * init / math.sqrt(2 * G)).requires_grad_()
V = (torch.randn(H, G) * init / math.sqrt(2 * G)).requires_grad_()
W = (torch.randn(H, G) * init / math.sqrt(H)).requires_grad_()
opt = torch.optim.SGD([U, V, W], lr=lr)
hist = torch.empty(epochs)
t = time.perf_counter()
for e in range(epochs):
    perm = torch.randperm(N) if B < N else None
    acc = 0.0
    for j in range(0, N, B):
        xb, yb = (X, Y) if perm is None else (X[perm[j:j + B]], Y[perm[j:j + B]])
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(torch.square(xb[:, 0] @ U.T + xb[:, 1] @ V.T) @ W, yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([U, V, W], 0.1)
        opt.step()
        acc = acc + loss.detach() * len(xb)
    hist[e] = acc / N
print(time.perf_counter() - t, epochs * math.ceil(N / B))
'''


# checkpoint cost: paired warm runs in one process (fresh processes differ by more than the cost), and the time spent in
# the recorder (forward pass over all inputs, output power, parameter copies) and in assembling the records afterwards
CHECKPOINTS = '''
import statistics, time, torch
torch.set_num_threads(1)
import group_agf.train as T
spent = [0.0]
def timed(f):
    def g(*a, **k):
        t = time.perf_counter(); r = f(*a, **k); spent[0] += time.perf_counter() - t; return r
    return g
T._Recorder.__call__, T._finish = timed(T._Recorder.__call__), timed(T._finish)
cfg = lambda n: T.load_config('d3', ['training.epochs=2000', f'training.n_checkpoints={{n}}', 'output.plots=false'])
def wall(n):
    t = time.perf_counter(); T.train(cfg(n), save=False, progress=False); return time.perf_counter() - t
wall(100); wall(2)                                                     # warm up
ta, tb, shares = [], [], []
for _ in range({pairs}):
    spent[0] = 0.0; ta.append(wall(100)); shares.append(spent[0] / ta[-1]); tb.append(wall(2))
print(statistics.median(ta), statistics.median(tb), statistics.median(x / y for x, y in zip(ta, tb)), statistics.median(shares))
'''


def loop_time(code, one_thread=True, **kw) -> tuple:
    out = subprocess.run(script(code.format(one_thread=one_thread, **kw)), capture_output=True, text=True, check=True, cwd=_NEUTRAL,
                         env={**os.environ, 'PYTHONPATH': str(ROOT)}).stdout.split()
    return float(out[0]), int(out[1])


def row_loops(preset, over, G, H, N, B, epochs, lr, init, pairs):
    a = lambda: loop_time(LOOP, preset=preset, over=over)
    b = lambda: loop_time(PLAIN, G=G, H=H, N=N, B=B, epochs=epochs, lr=lr, init=init)
    ta, tb = [], []
    for _ in range(pairs):
        x, steps = a(); y, _ = b(); ta.append(x); tb.append(y)
    return statistics.median(ta), statistics.median(tb), statistics.median(x / y for x, y in zip(ta, tb)), steps


# -------------------------------------------------------------------------------------------------------- commands
def group_agf(*args) -> list:
    "The `group-agf` command as the installed script runs it, from the tree on PYTHONPATH: its `console_main` where it has one, else `main`."
    return [PY, '-c', "import sys; from group_agf import cli; sys.argv[0] = 'group-agf'; "
                      "sys.exit(cli.console_main() if hasattr(cli, 'console_main') else cli.main(sys.argv[1:]))", *args]


def baseline_tree(ref: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix='group_agf-baseline-'))
    arch = subprocess.run(['git', '-C', str(ROOT), 'archive', ref], capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', str(d)], input=arch, check=True)
    return d


SWEEP = {'name': 'bench64', 'base': 'd3',
         'overrides': {'training.epochs': 2000, 'output.plots': False},
         'grid': {'training.lr': [0.005, 0.01, 0.02, 0.03]}, 'seeds': 16}


def busy(n):
    return [subprocess.Popen([PY, '-c', 'while True: pass']) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--only', default='1,2,3,4,5,6,7', help='rows to measure, e.g. 2,3')
    ap.add_argument('--pairs', type=int, default=3, help='paired runs per row (medians are quoted)')
    ap.add_argument('--baseline', default=BASELINE, help='git ref of the code to compare `group-agf train` with (row 5)')
    ap.add_argument('--a5-epochs', type=int, default=20, help='epochs of the a5 rows (its preset runs 1000)')
    a = ap.parse_args()
    rows_wanted = {int(x) for x in a.only.split(',')}
    import torch
    idle = wait_idle()
    rate = matmul_rate()
    print(f"torch {torch.__version__}; {os.cpu_count()} CPUs; machine idle before measuring: {'yes' if idle else 'NO (numbers are pessimistic)'}")
    print(f"float32 matmul rate, 1 thread, best of 7: {rate / 1e9:.1f} GFLOP/s\n")
    table = []
    def add(*r): table.append(r); print('  '.join(str(x) for x in r), flush=True)

    if 2 in rows_wanted:
        ta, tb, ratio, steps = row_loops('d3', ['training.epochs=2000'], 6, 180, 36, 36, 2000, 0.01, 1e-3, a.pairs)
        add('2', 'd3 loop, 2000 epochs, 1 thread', f'{steps / ta:.0f} steps/s', f'plain torch loop {steps / tb:.0f} steps/s',
            f'{ratio:.2f}x the plain loop\'s time', 'target <= 0.5x')
    if 3 in rows_wanted:
        e = a.a5_epochs
        ta, tb, ratio, steps = row_loops('a5', [f'training.epochs={e}'], 60, 1200, 3600, 128, e, 0.001, 1e-3, a.pairs)
        flops = 3 * 2 * (3 * 60 * 1200) * 3600 * e          # forward matmuls (2 x U/V + W) x 3 for backward, all samples
        add('3', f'a5 loop, {e} epochs, 1 thread', f'{ta:.2f} s', f'plain torch loop {tb:.2f} s',
            f'{ratio:.2f}x the plain loop; {ta / (flops / rate):.2f}x the matmul bound ({flops / rate:.2f} s)', 'target <= 1.1x')
    if 4 in rows_wanted:
        out = subprocess.run(script(CHECKPOINTS.format(pairs=max(a.pairs, 7))), capture_output=True, text=True, check=True, cwd=_NEUTRAL,
                             env={**os.environ, 'PYTHONPATH': str(ROOT)}).stdout.split()
        ta, tb, ratio, share = map(float, out)
        add('4', 'd3, 2000 epochs: 100 checkpoints vs 2 (warm, one process)', f'{ta:.3f} s', f'{tb:.3f} s',
            f'{ratio:.3f}x; recording is {100 * share:.1f}% of the 100-checkpoint run', 'target <= 1.05x')
    if 5 in rows_wanted:
        base = baseline_tree(a.baseline)
        with tempfile.TemporaryDirectory() as out:
            cmd = group_agf('train', 'd3', '--set', 'training.epochs=2000', '--quiet', '--out', out)
            new = lambda: run(cmd, env={'PYTHONPATH': str(ROOT)})
            old = lambda: run(cmd, env={'PYTHONPATH': str(base)})
            which = subprocess.run([PY, '-c', 'import group_agf; print(group_agf.__file__)'], capture_output=True, text=True, cwd=_NEUTRAL,
                                   env={**os.environ, 'PYTHONPATH': str(base)}).stdout.strip()
            assert which.startswith(str(base)), f'the baseline command would run {which}'
            new(); old()                                              # warm caches (group cache, fonts)
            ta, tb, ratio = paired(new, old, a.pairs)
        add('5', 'group-agf train d3 (2000 epochs) with figures', f'{ta:.2f} s', f'{a.baseline}: {tb:.2f} s', f'{ratio:.2f}x',
            'target <= 4 s wall: 0.36x the 11.0 s this command took when the target was set')
    if 6 in rows_wanted:
        with tempfile.TemporaryDirectory() as tmp:
            import yaml
            spec = Path(tmp, 'bench64.yaml'); spec.write_text(yaml.safe_dump(SWEEP))
            one = group_agf('train', 'd3', '--set', 'training.epochs=2000', '--no-plots', '--quiet', '--out', tmp)
            i = [0]
            def sweep():
                i[0] += 1
                return run(group_agf('sweep', str(spec), '--out', str(Path(tmp, f's{i[0]}')), '--gpus', 'none', '--no-plots'),
                           env={'PYTHONPATH': str(ROOT)})
            ta, tb, ratio = paired(sweep, lambda: run(one, env={'PYTHONPATH': str(ROOT)}), a.pairs)
        add('6', '64 d3 runs (2000 epochs) as one sweep', f'{ta:.2f} s', f'one train process {tb:.2f} s', f'{ratio:.2f}x',
            'target <= 3x')
    if 7 in rows_wanted:
        code = LOOP
        res = {}
        procs = busy(2)
        try:
            time.sleep(1.0)
            for name, over in [('auto', []), ('1 thread', ['training.threads=1']), ('2 threads', ['training.threads=2'])]:
                ts = [loop_time(code, one_thread=False, preset='octahedral', over=['training.epochs=100'] + over)[0] for _ in range(a.pairs)]
                res[name] = statistics.median(ts)
        finally:
            for p in procs: p.kill()
        best = min(res['1 thread'], res['2 threads'])
        add('7', 'octahedral, 100 epochs, 2 busy processes', f"auto {res['auto']:.2f} s",
            f"1 thread {res['1 thread']:.2f} s, 2 threads {res['2 threads']:.2f} s", f"{res['auto'] / best:.2f}x the best", 'target <= 1.5x')
    print('\n' + '\n'.join(' | '.join(map(str, r)) for r in table))


if __name__ == '__main__':
    main()
