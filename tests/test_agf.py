"Integration checks of the AGF simulator and the run analysis as other modules use them (JSON written next to a run, statuses)."
import json
import numpy as np
import torch
from group_agf.agf import simulate_agf
from group_agf.groups import get_group
from group_agf.models import build_model
from group_agf.power import theory
from group_agf.analysis import analyze_run, plateau_table, run_status
from group_agf.templates import from_powers
from group_agf.train import load_config, train


def _init(model, H, G, k, scale=1e-3):
    torch.manual_seed(0)
    return build_model(dict(type=model, hidden_dim=H, init_scale=scale), G.order, k).state_dict()


def test_agf_json_keys(tmp_path):
    "The result serialises to the agf.json keys the training loop writes, with one jump step per predicted drop."
    G = get_group('D3')
    x = from_powers(G, [0, 30, 3000])
    r = simulate_agf(G, x, 2, _init('TwoLayerNet', 40, G, 2), lr=1e-5, max_activations=4)
    path = tmp_path / 'agf.json'
    path.write_text(json.dumps(r.to_dict()))
    d = json.loads(path.read_text())
    for key in ['plateaus', 'jump_steps', 'irreps', 'irrep_labels', 'learning_steps', 'activations', 'loss_curve', 'wall_time_s']:
        assert key in d, key
    assert len(d['plateaus']) == len(theory(G, x, 2)['plateaus']) and len(d['jump_steps']) == 2
    assert d['activations']['step'] == sorted(d['activations']['step']) and len(d['activations']['step']) == 4
    assert d['plateaus'][0] == 505.0 and d['stop_reason'] == 'max_activations'


def test_agf_sequential_mlp():
    "SequentialMLP (k = 3) runs through the same simulator and learns the irrep with the largest criterion first."
    G = get_group('C5')
    x = from_powers(G, [0, 6, 2])
    r = simulate_agf(G, x, 3, _init('SequentialMLP', 8, G, 3), lr=0.01, max_activations=3)
    assert r.model == 'SequentialMLP' and r.activations['irrep'][0] == 1
    assert r.activations['loss'][-1] < r.plateaus[0]


def test_clipped_blow_up_is_diverged():
    "d3 at lr=100 stays finite under the clip but goes to 1e20: diverged, and no verdict on the order."
    run = train(load_config('d3', ['training.epochs=30', 'training.lr=100']), save=False, progress=False, quiet=True, plots=False)
    h = run.history
    assert np.isfinite(h['train_loss']).all() and run_status(h['train_loss']) == 'diverged'
    a = analyze_run(get_group('D3'), h['template'], 2, h['step'], h['train_loss'], h['ckpt_step'], h['output_power'], status=run.status)
    assert a['observed']['status'] == 'diverged' and a['observed']['order_matches_theory'] is None
    assert 'run diverged: no comparison with theory' in plateau_table(a).splitlines()
