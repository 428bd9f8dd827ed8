"Packed runs give the answers of the same runs trained alone, for every model type and optimizer."
import numpy as np
import pytest
import torch

from group_agf.train import load_config, train, train_many

# (base overrides, optimizer overrides): every model type, through the fused and the autograd paths
CASES = {
    'two-layer square, per-neuron': (['model.hidden_dim=48'], ['training.optimizer=per_neuron']),
    'two-layer square, sgd + momentum': (['model.hidden_dim=48', 'training.lr=0.002'], ['training.optimizer=sgd', 'training.momentum=0.9']),
    'two-layer square, adam': (['model.hidden_dim=48', 'training.lr=0.001'], ['training.optimizer=adam']),
    'two-layer square, adamw': (['model.hidden_dim=48', 'training.lr=0.001'], ['training.optimizer=adamw', 'training.weight_decay=0.01']),
    'two-layer relu, per-neuron': (['model.hidden_dim=48', 'model.nonlinearity=relu', 'model.init_scale=0.1'], ['training.optimizer=per_neuron']),
    'sequential mlp k=3, per-neuron': (['model.type=SequentialMLP', 'data.k=3', 'model.hidden_dim=48', 'model.init_scale=0.05'], ['training.optimizer=per_neuron']),
    'sequential mlp k=3, adam': (['model.type=SequentialMLP', 'data.k=3', 'model.hidden_dim=48', 'training.lr=0.001'], ['training.optimizer=adam']),
    'quadratic rnn k=3, hybrid': (['model.type=QuadraticRNN', 'data.k=3', 'model.hidden_dim=32', 'model.init_scale=0.05'], ['training.optimizer=hybrid', 'training.adam_lr=0.001']),
    'quadratic rnn k=3, adam': (['model.type=QuadraticRNN', 'data.k=3', 'model.hidden_dim=32', 'training.lr=0.001'], ['training.optimizer=adam']),
    'deep pairwise k=3, per-neuron': (['model.type=DeepPairwiseMLP', 'data.k=3', 'model.hidden_dim=32', 'model.init_scale=0.05'], ['training.optimizer=per_neuron']),
    'deep pairwise k=3, adamw': (['model.type=DeepPairwiseMLP', 'data.k=3', 'model.hidden_dim=32', 'training.lr=0.001'], ['training.optimizer=adamw']),
}


def _configs(base, opt, dtype):
    "Three replicas: seeds 0, 1, 2 at the case's learning rate times 1, 2 and 1/2."
    cfg = load_config('d3', ['training.epochs=1000', 'training.n_checkpoints=20', f'training.dtype={dtype}'] + base + opt)
    return [load_config(cfg, [f'training.seed={i}', f'training.lr={cfg.training.lr * f}']) for i, f in enumerate((1.0, 2.0, 0.5))]


def _rel(a, b): return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30)))


@pytest.mark.parametrize('case', list(CASES))
def test_equal_widths_agree(case):
    "Replicas of equal width, float32: the loss history matches the solo run's to 1e-4 relative over 1000 steps; for the fused models it is identical, bit for bit (the same products, batched)."
    base, opt = CASES[case]
    cfgs = _configs(base, opt, 'float32')
    packed = train_many(cfgs, save=False)
    assert {r.metrics['pack_size'] for r in packed} == {3}
    for p, c in zip(packed, cfgs):
        a = train(c, save=False)
        assert p.status == a.status and p.metrics['fused'] == a.metrics['fused']
        if p.metrics['fused']:
            np.testing.assert_array_equal(p.history['train_loss'], a.history['train_loss'])
            np.testing.assert_array_equal(p.history['output_power'], a.history['output_power'])
        else: assert _rel(p.history['train_loss'], a.history['train_loss']) < 1e-4, case


def _perturbed(cfg, eps=1e-15):
    "The loss history of `cfg` trained alone with its initial weights scaled by (1 + eps): the run's own sensitivity to rounding."
    from group_agf.train import _PackRun, _StopRequest
    from group_agf.groups import get_group
    pr = _PackRun([cfg], get_group(cfg.data.group), torch.device('cpu'), [None], False)
    with torch.no_grad():
        for p in pr.stack.parameters(): p.mul_(1 + eps)
    pr.threads = 1
    pr.run(_StopRequest())
    return pr.loss[0].numpy()


@pytest.mark.parametrize('case', list(CASES))
def test_padded_widths_agree(case):
    """A pack with a replica padded to the others' width (float64): every replica agrees with its solo run to 1e-4
    relative over the first 1000 steps, or, where the dynamics itself amplifies rounding (a staircase escaping a
    saddle), no worse than the solo run differs from itself when its initial weights move by 1e-15 (times 10): packing
    changes only the rounding."""
    base, opt = CASES[case]
    cfgs = _configs(base, opt, 'float64')
    cfgs[0] = load_config(cfgs[0], [f'model.hidden_dim={cfgs[0].model.hidden_dim // 2}'])
    packed = train_many(cfgs, save=False)
    assert packed[0].metrics['pack_size'] == 3
    for p, c in zip(packed, cfgs):
        a = train(c, save=False)
        assert p.model.hidden_dim == c.model.hidden_dim
        gap = _rel(p.history['train_loss'], a.history['train_loss'])
        if gap >= 1e-4:
            own = _rel(_perturbed(c), a.history['train_loss'])
            assert gap <= 10 * own, (case, gap, own)


def test_padded_float32_staircase_is_the_same():
    "d3 in float32, a 120-wide replica padded to 180, 30000 epochs: the same jump steps (to 1%), plateaus (within 2%) and order at the end."
    cfgs = [load_config('d3', [f'model.hidden_dim={h}', 'output.plots=false', 'training.epochs=30000']) for h in (120, 180)]
    packed = train_many(cfgs, save=False)
    alone = train(cfgs[0], save=False)
    p, a = packed[0].metrics['observed'], alone.metrics['observed']
    assert packed[0].status == alone.status == 'complete'
    assert p['order'] == a['order'] == packed[0].metrics['theory']['order']
    for x, y in zip(p['jump_steps'], a['jump_steps']): assert abs(x / y - 1) < 0.01
    for x, y in zip(p['plateaus'], a['plateaus']):
        assert (x is None) == (y is None) and (x is None or abs(x / y - 1) < 0.02 or abs(x - y) < 1e-3)


def test_frozen_replicas_do_not_disturb_the_others():
    "In a pack, a replica whose loss turns NaN (a learning rate of 1e9) is frozen at once; the other trains exactly as alone."
    cfgs = [load_config('d3', ['training.epochs=600', 'training.log_every=10', f'training.lr={lr}']) for lr in (1e9, 0.01)]
    packed = train_many(cfgs, save=False)
    assert packed[0].status == 'diverged' and packed[0].metrics['epochs'] <= 10 and packed[1].status == 'complete'
    assert not np.isfinite(packed[0].history['train_loss']).all()
    np.testing.assert_array_equal(packed[1].history['train_loss'], train(cfgs[1], save=False).history['train_loss'])
