"Translation of the original group-agf code's own configs and sweep files (read from the shared seed folder, not copied into the project)."
import copy
from pathlib import Path
import numpy as np
import pytest
import yaml
from group_agf.groups import get_group
from group_agf.legacy import (LegacyError, read_yaml, is_original_config, is_original_sweep, translate_config,
                              translate_sweep, converted_text, original_fourier_2d)
from group_agf.power import power_spectrum
from group_agf.sweep import expand_sweep
from group_agf.templates import make_template
from group_agf.train import load_config, config_hash

SEED = Path('/work/shared/seed/configs')
pytestmark = pytest.mark.skipif(not SEED.is_dir(), reason='the original configs are read from /work/shared/seed/configs')
CONFIGS = sorted(p.name for p in SEED.glob('*.yaml')) if SEED.is_dir() else []
SWEEPS = sorted(p.name for p in (SEED / 'sweep_configs').glob('*.yaml')) if SEED.is_dir() else []


def leaves(d, pre=''):
    for k, v in d.items():
        if isinstance(v, dict) and k in ('data', 'model', 'training'): yield from leaves(v, f'{k}.')
        else: yield f'{pre}{k}', v


def test_the_seed_folder_has_the_original_files():
    assert CONFIGS == ['config.yaml', 'config_a5.yaml', 'config_c10.yaml', 'config_c4x4.yaml', 'config_d3.yaml', 'config_octahedral.yaml']
    assert SWEEPS == ['example_sweep.yaml', 'learning_rate_sweep.yaml', 'model_size_sweep.yaml', 'onehot_scaling_sweep.yaml']


@pytest.mark.parametrize('name', CONFIGS)
def test_every_original_config_translates_and_every_key_is_accounted_for(name):
    d = read_yaml(SEED / name)
    assert is_original_config(d) and not is_original_sweep(d)
    tr = translate_config(d)
    text = tr.text()
    for key, value in leaves(d):
        short = key.split('.')[-1]
        assert f'{key}=' in text or f', {short}=' in text, f'{name}: {key} is not named in the translation'
    assert tr.resolved is not None and tr.resolved.training.device == 'auto'
    assert config_hash(load_config(tr.config)) == config_hash(tr.resolved)


def test_config_d3_translation_lines():
    tr = translate_config(read_yaml(SEED / 'config_d3.yaml'))
    lines = tr.text().splitlines()
    for want in ['  data.group_name=dihedral, group_n=3 -> data.group=D3',
                 '  no effect: model.transform_type=quadratic (only QuadraticRNN uses it; the model is a TwoLayerNet)',
                 '  no effect: training.num_steps=100 (offline mode counts epochs: training.epochs)',
                 "  training.degree=null -> steps scaled by ||theta_i||^-1 (the original's 1 - degree, degree null = 2): our default 2 - D with D = 3"]:
        assert want in lines, want
    split = [l for l in lines if l.startswith('  note: validation:')]
    assert len(split) == 1 and 'last 10% of the 36 pairs (3)' in split[0] and 'data.val_fraction: 0, trains on all pairs' in split[0]
    c = tr.resolved
    assert (c.data.group, c.data.k, c.data.val_fraction, c.model.type, c.training.optimizer, c.training.lr, c.training.grad_clip) == \
        ('D3', 2, 3 / 36, 'TwoLayerNet', 'per_neuron', 0.01, 0.1)
    assert c.data.template == {'type': 'powers', 'powers': [0.0, 30.0, 3000.0]}
    assert (c.data.seed, c.training.seed, c.training.epochs, c.training.batch_size) == (10, 10, 2000, 128)


def test_templates_follow_the_original_builders():
    "config.yaml: 10 at element index 1 of D3, mean removed; config_c4x4.yaml: the lowest mode (0, 1) with seed 10's phase, unit std."
    x = make_template(get_group('D3'), translate_config(read_yaml(SEED / 'config.yaml')).config['data']['template'])
    np.testing.assert_allclose(x, np.r_[-10, 50, -10, -10, -10, -10] / 6, atol=1e-12)
    G = get_group('C4xC4')
    x = make_template(G, translate_config(read_yaml(SEED / 'config_c4x4.yaml')).config['data']['template'])
    ph = np.random.default_rng(10).uniform(0, 2 * np.pi, 1)[0]
    X = np.zeros((4, 4), complex); X[0, 1], X[0, 3] = 10 * np.exp(1j * ph), 10 * np.exp(-1j * ph)
    y = np.fft.ifft2(X).real.ravel()
    np.testing.assert_allclose(x, y / y.std(), atol=1e-12)
    P = power_spectrum(G, x)
    assert abs(P.sum() - 16) < 1e-9 and (P > 1e-9).sum() == 1
    assert original_fourier_2d(4, 4, 1, 10)['frequencies'] == [[0, 1]]


def test_what_cannot_be_kept_is_a_one_line_error():
    d3 = read_yaml(SEED / 'config_d3.yaml')
    cases = [({'model': {'output_scale': 2.0}}, 'model.output_scale=2.0: cannot be kept: our TwoLayerNet has no output scale', False),
             ({'data': {'dataset_fraction': 0.5}}, 'data.dataset_fraction=0.5: cannot be kept', False),
             ({'training': {'optimizer': 'hybrid'}}, "training.optimizer=hybrid: the original's hybrid optimizer is for QuadraticRNN only", True),
             ({'data': {'template_type': 'fourier'}}, 'data.template_type=fourier: the original builds only onehot, custom_fourier templates for group_name=dihedral', True),
             ({'data': {'powers': [0.0, 30.0]}}, 'data.powers=[0.0, 30.0]: must have 3 values, one per irrep of D3', True),
             ({'training': {'mode': 'online'}}, 'training.mode=online: the original trains online only sequence models on cn and cnxcn', True)]
    for change, message, refused in cases:
        d = copy.deepcopy(d3)
        for s, kv in change.items(): d[s].update(kv)
        with pytest.raises(LegacyError) as e: translate_config(d)
        assert str(e.value).startswith(message) and '\n' not in str(e.value), str(e.value)
        assert e.value.refused == refused, message


def test_sequential_mlp_return_all_outputs_cannot_be_kept():
    d = read_yaml(SEED / 'config_c10.yaml'); d['model']['return_all_outputs'] = True
    with pytest.raises(LegacyError, match='model.return_all_outputs=true: cannot be kept'): translate_config(d)


@pytest.mark.parametrize('name,runs,left', [('example_sweep.yaml', 2, 0), ('learning_rate_sweep.yaml', 15, 3), ('model_size_sweep.yaml', 12, 0)])
def test_original_sweeps_translate(name, runs, left):
    st = translate_sweep(SEED / 'sweep_configs' / name, ['training.epochs=1'])
    assert (st.n_runs, len(st.left_out)) == (runs, left)
    text = st.text()
    assert 'base_config=src/config.yaml is not a file here' in text and str(SEED / 'config.yaml') in text
    ours = expand_sweep(st.spec)
    assert len(ours) == runs and all(r.config.training.epochs == 1 for r in ours)
    converted = yaml.safe_load(converted_text(SEED / 'sweep_configs' / name, ['training.epochs=1']))
    assert [r.config_hash for r in expand_sweep(converted)] == [r.config_hash for r in ours]


def test_example_sweep_details():
    st = translate_sweep(SEED / 'sweep_configs' / 'example_sweep.yaml')
    assert st.spec['experiments'] == [{'name': 'hidden_dim_32', 'overrides': {'model.hidden_dim': 32}},
                                      {'name': 'hidden_dim_64', 'overrides': {'model.hidden_dim': 64}}]
    assert st.spec['seeds'] == 1 and st.spec['base']['data']['group'] == 'D3'
    assert '  no effect: training.num_steps=1000 (offline mode counts epochs: training.epochs)' in st.text().splitlines()


def test_learning_rate_sweep_leaves_out_what_the_original_fails():
    st = translate_sweep(SEED / 'sweep_configs' / 'learning_rate_sweep.yaml')
    assert [n for n, _ in st.left_out] == ['hybrid_scale_-2', 'hybrid_scale_-3', 'hybrid_scale_-4']
    runs = expand_sweep(st.spec)
    assert sorted({(r.experiment, r.config.training.lr) for r in runs}) == [('adam_lr_1e-2', 0.01), ('adam_lr_1e-3', 0.001), ('adam_lr_1e-4', 0.0001)]
    assert sorted({r.seed for r in runs}) == [0, 1, 2, 3, 4]


def test_hybrid_quadratic_rnn_config_trains():
    "The original's hybrid optimizer: SGD at lr 1 scaled by ||theta_i||^scaling_factor on W_in, W_drive, W_out, Adam at learning_rate on W_mix."
    from group_agf.config import optimizer_options
    from group_agf.train import train
    d = {'data': {'group_name': 'cn', 'p': 10, 'k': 3, 'batch_size': 100, 'seed': 1, 'template_type': 'fourier', 'n_freqs': 2,
                  'mode': 'exhaustive', 'num_samples': 1000},
         'model': {'model_type': 'QuadraticRNN', 'hidden_dim': 32, 'init_scale': 4.5e-3, 'return_all_outputs': True, 'transform_type': 'quadratic'},
         'training': {'mode': 'offline', 'epochs': 20, 'optimizer': 'hybrid', 'learning_rate': 1e-3, 'betas': [0.9, 0.99],
                      'weight_decay': 0.0, 'scaling_factor': -2, 'degree': None, 'grad_clip': 0.1},
         'device': 'cpu'}
    tr = translate_config(d)
    t = tr.resolved.training
    assert (t.optimizer, t.lr, t.adam_lr, t.neuron_exponent, t.betas) == ('hybrid', 1.0, 1e-3, -2.0, [0.9, 0.99])
    assert optimizer_options(t) == {'betas': (0.9, 0.99), 'exponent': -2.0, 'adam_lr': 1e-3}
    assert tr.resolved.data.seq2seq and tr.resolved.model.type == 'QuadraticRNN'
    r = train(tr.resolved, save=False, quiet=True)
    assert r.metrics['status'] == 'complete' and r.metrics['final_train_loss'] < 0.5 * r.metrics['initial_train_loss']
