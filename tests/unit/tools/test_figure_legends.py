# Copyright (c) shike-mm contributors. All rights reserved.
"""What the figures of tools/analysis_tools/ tell a reader, on tiny
generated inputs: the reliability diagram's one legend names every bar
colour in the colour drawn (the many / medium / few groups' own) and the
over- / under-confidence boxes; learning curves have whole-epoch ticks and
a line at the stage switch of the run's config; per-class accuracy labels
a single model's experts without repeating its name."""
import json

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from shike_mm.analysis.lt_analysis import GROUP_COLOURS
from tests.helpers.analysis_models import synthetic_model
from tests.helpers.tool_modules import load_tool


def calibration_result(tool):
    """calibration() of 600 generated predictions over 10 classes (counts
    with many, medium and few-shot classes), over-confident on average
    with some under-confident bins."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 600)
    logits = rng.normal(size=(600, 10)) * 2
    logits[np.arange(600), labels] += rng.uniform(0, 4, 600)
    # 60 right but unsure predictions: under-confident low bins
    logits[:60] = 0.
    logits[np.arange(60), labels[:60]] = 0.5
    probs = np.exp(logits)
    probs /= probs.sum(1, keepdims=True)
    counts = [1000, 600, 360, 215, 129, 77, 46, 27, 16, 10]
    return tool.calibration(probs, labels, counts)


def test_reliability_diagram_has_one_legend_in_the_bar_colours(tmp_path):
    tool = load_tool('reliability_diagram')
    result = calibration_result(tool)
    fig = tool.plot(result, 'epoch_20.pth: as trained')
    assert list(result) == ['all', 'many', 'medium', 'few']
    # one legend for all panels, below them, covering none
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert len(fig.legends) == 1
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert sorted(texts) == sorted([
        'accuracy, all images', 'accuracy, many', 'accuracy, medium',
        'accuracy, few',
        'over-confident: mean confidence above accuracy',
        'under-confident: mean confidence below accuracy',
        'perfect calibration'])
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_tightbbox(renderer))

    handles = dict(zip(texts, legend.legend_handles))
    for ax, name in zip(fig.axes, result):
        label = ('accuracy, all images' if name == 'all' else
                 f'accuracy, {name}')
        bar_colour = ax.patches[0].get_facecolor()
        # the panel's accuracy bars are in the colour its legend entry shows
        assert handles[label].get_facecolor() == bar_colour
        if name in GROUP_COLOURS:
            assert bar_colour == to_rgba(GROUP_COLOURS[name])
    # the 'all' bars are not the many-shot colour
    assert (handles['accuracy, all images'].get_facecolor() !=
            to_rgba(GROUP_COLOURS['many']))

    # the hatched boxes are the gaps: above the bar where the bin's mean
    # confidence exceeds its accuracy, inside it where it falls short
    over = handles['over-confident: mean confidence above accuracy']
    under = handles['under-confident: mean confidence below accuracy']
    ax = fig.axes[0]
    bins = result['all']['bins']
    used = bins['count'] > 0
    acc, conf = bins['accuracy'][used], bins['confidence'][used]
    n = int(used.sum())
    bars, over_boxes, under_boxes = (ax.patches[:n], ax.patches[n:2 * n],
                                     ax.patches[2 * n:3 * n])
    assert [b.get_height() for b in bars] == pytest.approx(list(acc))
    for box_, a, c in zip(over_boxes, acc, conf):
        assert box_.get_hatch() == over.get_hatch()
        assert box_.get_height() == pytest.approx(max(c - a, 0.))
    for box_, a, c in zip(under_boxes, acc, conf):
        assert box_.get_hatch() == under.get_hatch()
        assert box_.get_height() == pytest.approx(min(c - a, 0.))
    assert (conf > acc).any() and (conf < acc).any()
    fig.savefig(tmp_path / 'rel.png')


def write_run(folder, epochs, stage_begin=None):
    """A run folder with vis_data/scalars.json (training and validation
    records for ``epochs``) and, with ``stage_begin``, the config mmengine
    saves beside it, holding a two-stage StageSwitchHook."""
    vis = folder / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for e in range(1, epochs + 1):
        lines.append(json.dumps(dict(lr=0.1, loss=5.0 / e, epoch=e, iter=e,
                                     step=e)))
        lines.append(json.dumps({'accuracy/top1': 10.0 * e, 'step': e}))
    (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')
    if stage_begin is not None:
        (vis / 'config.py').write_text(
            "custom_hooks = [dict(type='StageSwitchHook', stages=["
            f"dict(name='retrain', begin={stage_begin})])]\n"
            f'train_cfg = dict(by_epoch=True, max_epochs={epochs})\n')


@pytest.mark.parametrize('by_metric', [False, True])
def test_plot_curves_whole_epochs_and_the_stage_switch(tmp_path, capsys,
                                                       by_metric):
    write_run(tmp_path / 'work' / '20260101_000000', 9, stage_begin=6)
    tool = load_tool('plot_curves')
    fig, curves = tool.main(
        [str(tmp_path / 'work'), '--val-keys', 'accuracy/top1', '--out',
         str(tmp_path / 'c.png')] + (['--by-metric'] if by_metric else []))
    capsys.readouterr()
    assert curves[0]['stage_switches'] == [(6, 'retrain')]
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == (1 if by_metric else 2)
    for ax in axes:
        ticks = [t for t in ax.get_xticks()
                 if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        # epochs 1-6 are stage 1, 7-9 the retraining: the line lies
        # between the last point of one and the first of the other
        switch = [ln for ln in ax.lines
                  if ln.get_label() == "stage 'retrain' from epoch 7"]
        assert len(switch) == 1
        assert list(switch[0].get_xdata()) == [6.5, 6.5]
    assert "stage 'retrain' from epoch 7" in [
        t.get_text() for t in axes[0].get_legend().get_texts()]


def test_plot_curves_without_a_stage_recipe_draws_no_switch(tmp_path,
                                                            capsys):
    write_run(tmp_path / 'work' / '20260101_000000', 3)
    tool = load_tool('plot_curves')
    fig, curves = tool.main([str(tmp_path / 'work'), '--val-keys',
                             'accuracy/top1', '--out',
                             str(tmp_path / 'c.png')])
    capsys.readouterr()
    assert curves[0]['stage_switches'] == []
    assert [ln.get_label() for ln in fig.axes[1].lines] == ['top1']


def test_per_class_accuracy_labels_one_model_without_its_name(tmp_path,
                                                              capsys):
    tool = load_tool('per_class_accuracy')
    model = synthetic_model('work_dirs/shike/seed0-1234/epoch_20.pth')
    fig, _ = tool.main(['cfg', 'ckpt', '--per-expert', '--out',
                        str(tmp_path / 'pc.png')], models=[model])
    capsys.readouterr()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ['expert 1', 'expert 2', 'expert 3', 'best expert',
                      'work_dirs/shike/seed0-1234/epoch_20.pth']


def test_per_class_accuracy_default_names_are_short():
    tool = load_tool('per_class_accuracy')
    assert tool.default_names([
        'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py',
        'configs/baselines/bsce_r32_fashion-mnist-lt-r100-1k_20e.py'
    ]) == ['shike', 'bsce']
    assert tool.default_names(['a/shike_x.py', 'b/shike_y.py']) == [
        'model 1', 'model 2']


def test_expert_preference_colours_are_not_the_group_colours(tmp_path,
                                                             capsys):
    tool = load_tool('expert_preference')
    fig, *_ = tool.main(['cfg', 'ckpt', '--out', str(tmp_path / 'ep.png')],
                        model=synthetic_model('A'))
    capsys.readouterr()
    ax_b = fig.axes[1]
    experts = [t.get_text() for t in ax_b.get_legend().get_texts()]
    assert experts == ['expert 1', 'expert 2', 'expert 3']
    colours = {bars.patches[0].get_facecolor() for bars in ax_b.containers}
    assert len(colours) == 3
    assert not colours & {to_rgba(c) for c in GROUP_COLOURS.values()}
