# Copyright (c) shike-mm contributors. All rights reserved.
"""The analysis tools (tools/analysis_tools/{per_class_accuracy,
expert_preference,hardest_negative,plot_curves}.py).

Numbers: the tables each tool prints are compared with an independent
computation, written here with plain loops, from the same logits. Logits:
synthetic ones with known structure (passed in-process), and those of tiny
random-weight checkpoints (a SHIKE ResNet-20 with 3 experts and an
mmpretrain ResNet + LinearClsHead) on generated Fashion-MNIST-format data,
recomputed here expert by expert from the state dict's classifiers.
The cases that start a process or compile are in
tests/integration/tools/test_analysis_tools.py."""
import json

import numpy as np
import pytest

from shike_mm.analysis import lt_analysis as lt
from tests.helpers.analysis_models import (TEST_PER_CLASS, TINY_COUNTS,
                                           as_float, parse_table, ref_group,
                                           ref_hardest_negative, ref_per_class,
                                           reference_logits, synthetic_model,
                                           tiny_checkpoints)
from tests.helpers.tool_modules import load_tool


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Configs and random-weight checkpoints (``tiny_checkpoints``)."""
    return tiny_checkpoints(tmp_path_factory.mktemp('analysis'))


# ----------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------
def test_shot_groups_is_the_metrics_grouping():
    from shike_mm.evaluation import LongTailAccuracy
    groups = LongTailAccuracy.shot_groups([101, 100, 20, 19, 0])
    assert list(groups) == ['many', 'medium', 'few']
    assert groups['many'].tolist() == [True, False, False, False, False]
    assert groups['medium'].tolist() == [False, True, True, False, False]
    assert groups['few'].tolist() == [False, False, False, True, True]
    assert lt.group_of(TINY_COUNTS) == [ref_group(n) for n in TINY_COUNTS]


def test_load_logits_reads_every_expert_from_the_checkpoint(tiny):
    cfg, ckpt = tiny['shike']
    got = lt.load_logits(cfg, ckpt, per_expert=True, device='cpu')
    experts, ensemble, labels = reference_logits(cfg, ckpt)
    assert got.experts.shape == (3, 10 * TEST_PER_CLASS, 10)
    np.testing.assert_array_equal(got.labels, labels)
    np.testing.assert_allclose(got.experts, experts, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.ensemble, ensemble, rtol=1e-4, atol=1e-4)
    assert got.class_counts == TINY_COUNTS
    assert got.class_names[0] == 'T-shirt/top'

    base_cfg, base_ckpt = tiny['baseline']
    single = lt.load_logits(base_cfg, base_ckpt, device='cpu')
    _, ref, _ = reference_logits(base_cfg, base_ckpt)
    assert single.experts is None
    np.testing.assert_allclose(single.ensemble, ref, rtol=1e-4, atol=1e-4)


def test_per_expert_needs_a_multi_expert_head(tiny, tmp_path):
    cfg, ckpt = tiny['baseline']
    with pytest.raises(ValueError, match='LinearClsHead, a single path'):
        lt.load_logits(cfg, ckpt, per_expert=True, device='cpu')
    tool = load_tool('expert_preference')
    with pytest.raises(ValueError, match='multi-expert head'):
        tool.main([cfg, ckpt, '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        lt.load_logits(cfg, str(tmp_path / 'nope.pth'))


def test_per_class_accuracy_numbers_and_curves(tmp_path, capsys):
    tool = load_tool('per_class_accuracy')
    a, b = synthetic_model('A'), synthetic_model('B', seed=1,
                                                 experts=False)
    out = tmp_path / 'sub' / 'pc.png'
    fig, series = tool.main(['cfg', 'ckpt', '--per-expert', '--compare',
                             'ckpt2', '--out', str(out)], models=[a, b])
    text = capsys.readouterr().out
    assert out.stat().st_size > 1000

    # 3 experts, best expert, model A, model B: six curves
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ['A expert 1', 'A expert 2', 'A expert 3',
                      'A best expert', 'A', 'B']

    refs = [ref_per_class(z, a.labels, 6) for z in a.experts]
    refs.append([max(col) for col in zip(*refs)])
    refs.append(ref_per_class(a.ensemble, a.labels, 6))
    refs.append(ref_per_class(b.ensemble, b.labels, 6))
    rows = parse_table(text, 'Per-class top-1 accuracy')
    assert rows[0][:3] == ['class', 'train imgs', 'group']
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2, 3, 4, 5]
    for r in rows[1:]:
        c = int(r[0])
        assert as_float(r[1]) == a.class_counts[c]
        assert r[2] == ref_group(a.class_counts[c])
        for s, ref in enumerate(refs):
            assert as_float(r[3 + s]) == pytest.approx(ref[c], abs=0.005)
    # the experts differ, so the figure compares something
    assert len({tuple(r) for r in refs[:3]}) == 3

    groups = parse_table(text, 'Mean of the per-class accuracies')
    assert groups[0] == ['series', 'all classes', 'many', 'medium', 'few']
    for row, ref in zip(groups[1:], refs):
        assert as_float(row[1]) == pytest.approx(sum(ref) / 6, abs=0.005)
        for g, name in ((2, 'many'), (3, 'medium'), (4, 'few')):
            members = [ref[c] for c in range(6)
                       if ref_group(a.class_counts[c]) == name]
            assert as_float(row[g]) == pytest.approx(
                sum(members) / len(members), abs=0.005)
    overall = parse_table(text, 'Prediction of each model')
    for row, m in zip(overall[1:], (a, b)):
        right = sum(int(np.argmax(m.ensemble[i])) == m.labels[i]
                    for i in range(len(m.labels)))
        assert as_float(row[2]) == pytest.approx(
            100 * right / len(m.labels), abs=0.005)


def test_expert_preference_winners_and_shares(tmp_path, capsys):
    tool = load_tool('expert_preference')
    a = synthetic_model('A')
    out = tmp_path / 'ep.png'
    fig, acc, win, share = tool.main(['cfg', 'ckpt', '--out', str(out)],
                                     model=a)
    text = capsys.readouterr().out
    assert out.stat().st_size > 1000
    ax_a, ax_b = fig.axes
    assert len(ax_a.containers) == 1 and len(ax_a.containers[0]) == 6
    assert [len(c) for c in ax_b.containers] == [3, 3, 3]

    refs = [ref_per_class(z, a.labels, 6) for z in a.experts]
    ref_win = []
    for c in range(6):
        best = max(r[c] for r in refs)
        ref_win.append([m for m in range(3) if refs[m][c] == best])
    assert ref_win[5] == [0, 1, 2]  # the designed tie
    assert any(len(w) == 1 for w in ref_win)
    rows = parse_table(text, 'Per-class top-1 accuracy (%) of every expert')
    for r in rows[1:]:
        c = int(r[0])
        assert r[-1] == '+'.join(str(m + 1) for m in ref_win[c])
        for m in range(3):
            assert as_float(r[3 + m]) == pytest.approx(refs[m][c], abs=0.005)
    shares = parse_table(text, 'Share of the classes')
    for row in shares[1:]:
        members = [c for c in range(6)
                   if ref_group(a.class_counts[c]) == row[0]]
        assert int(row[1]) == len(members)
        for m in range(3):
            ref = 100 * sum(1 / len(ref_win[c]) for c in members
                            if m in ref_win[c]) / len(members)
            assert as_float(row[2 + m]) == pytest.approx(ref, abs=0.05)
            # the bars of panel (b) are the printed shares
            assert ax_b.containers[m][GROUPS_INDEX[row[0]]].get_height() \
                == pytest.approx(ref)


GROUPS_INDEX = dict(many=0, medium=1, few=2)


def test_hardest_negative_distribution(tmp_path, capsys):
    tool = load_tool('hardest_negative')
    a, b = synthetic_model('A'), synthetic_model('B', seed=3)
    out = tmp_path / 'hn.png'
    fig, hists = tool.main(['cfg', 'ckpt', '--bins', '5', '--out', str(out)],
                           models=[a, b])
    text = capsys.readouterr().out
    assert out.stat().st_size > 1000
    from matplotlib.patches import StepPatch
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert sum(isinstance(p, StepPatch) for p in ax.patches) == 2
    # one legend, below the panels: it covers none of them (issue 19)
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ['A', 'B']
    renderer = fig.canvas.get_renderer()
    box = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_tightbbox(renderer))
    assert fig.axes[0].get_title() == 'many-shot classes (16 test imgs)'

    summary = parse_table(text, 'Probability of the hardest negative')
    bins = parse_table(text, 'Share of the group')
    assert len(bins) == 1 + 5
    for col, (g, m) in enumerate([(g, m) for g in ('many', 'medium', 'few')
                                  for m in (a, b)]):
        values = [ref_hardest_negative(m.ensemble[i], m.labels[i])
                  for i in range(len(m.labels))
                  if ref_group(m.class_counts[m.labels[i]]) == g]
        row = next(r for r in summary[1:] if r[0] == g and r[1] == m.name)
        assert int(row[2]) == len(values) == 16
        assert as_float(row[3]) == pytest.approx(np.mean(values), abs=5e-4)
        assert as_float(row[4]) == pytest.approx(np.median(values), abs=5e-4)
        assert as_float(row[5]) == pytest.approx(
            100 * sum(v >= 0.5 for v in values) / len(values), abs=0.05)
        for k in range(5):
            inside = sum(k / 5 <= v < (k + 1) / 5 or (k == 4 and v == 1)
                         for v in values)
            assert as_float(bins[1 + k][1 + col]) == pytest.approx(
                100 * inside / len(values), abs=0.05)


def test_plot_curves_across_the_stage_boundary(tmp_path, capsys):
    run = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    records = []
    step = 0
    for epoch in (1, 2, 3):
        for it in range(2):
            step += 1
            rec = dict(lr=0.1, loss=3.0 / epoch + it, epoch=epoch, iter=step,
                       step=step, time=0.1, data_time=0.01)
            if epoch < 3:  # stage 1 terms
                rec.update(loss_ce=2.0 / epoch + it, loss_dkt=0.5 * epoch)
            else:  # stage 2
                rec.update(loss_bsce=1.5 + it)
            records.append(rec)
        if epoch >= 2:
            records.append({'accuracy/top1': 40.0 + epoch,
                            'accuracy/many': 50.0 + epoch,
                            'accuracy/medium': 30.0, 'accuracy/few': 10.5,
                            'data_time': 0.1, 'time': 0.2, 'step': epoch})
    (run / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in records) + '\n')
    tool = load_tool('plot_curves')
    out = tmp_path / 'curves.png'
    fig, _ = tool.main([str(tmp_path / 'work'), '--names', 'run', '--out',
                        str(out)])
    text = capsys.readouterr().out
    assert out.stat().st_size > 1000
    ax_l, ax_v = fig.axes
    assert [ln.get_label() for ln in ax_l.lines] == [
        'loss', 'loss_ce', 'loss_dkt', 'loss_bsce']
    assert [ln.get_label() for ln in ax_v.lines] == [
        'top1', 'many', 'medium', 'few']
    rows = parse_table(text, 'run: training terms')
    assert rows[0] == ['epoch', 'lr', 'loss', 'loss_ce', 'loss_dkt',
                       'loss_bsce', 'accuracy/top1', 'accuracy/many',
                       'accuracy/medium', 'accuracy/few']
    assert rows[1][2:7] == ['3.5000', '2.5000', '0.5000', '', '']
    assert rows[3][2:7] == ['1.5000', '', '', '2.0000', '43.00']
    assert rows[1][6:] == ['', '', '', '']
    assert rows[2][6:] == ['42.00', '52.00', '30.00', '10.50']
    # the loss_bsce line has its one point at epoch 3 only
    assert list(ax_l.lines[3].get_xdata()) == [3]


def test_plot_curves_by_metric_puts_runs_side_by_side(tmp_path, capsys):
    """--by-metric: one panel per validation key, one line per run; runs
    of one method (same name before the last space) share a colour and
    differ in line style."""
    logs = []
    for name, top1 in (('A s0', [10, 30]), ('A s1', [12, 28]),
                       ('B s0', [20, 25])):
        path = tmp_path / f'{name.replace(" ", "_")}.json'
        path.write_text('\n'.join(
            json.dumps({'accuracy/top1': v, 'accuracy/few': v / 2,
                        'step': e + 1}) for e, v in enumerate(top1)) + '\n')
        logs.append(str(path))
    tool = load_tool('plot_curves')
    fig, _ = tool.main(logs + [
        '--names', 'A s0', 'A s1', 'B s0', '--by-metric', '--val-keys',
        'accuracy/top1', 'accuracy/few', 'accuracy/many', '--out',
        str(tmp_path / 'm.png')])
    capsys.readouterr()
    top1, few = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in (top1, few)] == ['top1', 'few']
    assert [ln.get_label() for ln in top1.lines] == ['A s0', 'A s1', 'B s0']
    assert list(top1.lines[2].get_ydata()) == [20, 25]
    assert list(few.lines[0].get_ydata()) == [5, 15]
    a0, a1, b0 = top1.lines
    assert a0.get_color() == a1.get_color() != b0.get_color()
    assert a0.get_linestyle() != a1.get_linestyle()


def test_plot_curves_joins_the_runs_of_a_resumed_work_dir(tmp_path, capsys):
    """A run killed after epoch 3 (checkpoint at 2) and resumed: the work
    dir holds two run folders; the curves cover epochs 1-5 and epoch 3
    comes from the resumed run."""
    def write(folder, epochs, offset):
        run = tmp_path / 'work' / folder / 'vis_data'
        run.mkdir(parents=True)
        lines = []
        for epoch in epochs:
            lines.append(json.dumps(dict(lr=0.1, loss=10.0 - epoch + offset,
                                         epoch=epoch, iter=epoch,
                                         step=epoch)))
            lines.append(json.dumps({'accuracy/top1': 10.0 * epoch + offset,
                                     'step': epoch}))
        (run / 'scalars.json').write_text('\n'.join(lines) + '\n')

    write('20260101_000000', [1, 2, 3], offset=0.5)  # killed during 4
    write('20260102_000000', [3, 4, 5], offset=0.0)  # resumed from 2
    tool = load_tool('plot_curves')
    files = tool.find_scalars(str(tmp_path / 'work'))
    assert [f.parts[-3] for f in files] == ['20260101_000000',
                                            '20260102_000000']
    fig, curves = tool.main([str(tmp_path / 'work'), '--val-keys',
                             'accuracy/top1', '--out',
                             str(tmp_path / 'c.png')])
    capsys.readouterr()
    assert curves[0]['train']['loss'] == {1: 9.5, 2: 8.5, 3: 7.0, 4: 6.0,
                                          5: 5.0}
    assert curves[0]['val']['accuracy/top1'] == {1: 10.5, 2: 20.5,
                                                 3: 30.0, 4: 40.0, 5: 50.0}
    assert list(fig.axes[1].lines[0].get_xdata()) == [1, 2, 3, 4, 5]


ALL_TOOLS = ('per_class_accuracy', 'expert_preference', 'hardest_negative',
             'plot_curves', 'get_flops', 'print_lt_results')
WRITES_A_FIGURE = ('per_class_accuracy', 'expert_preference',
                   'hardest_negative', 'plot_curves')


def doc_commands(doc):
    """The example commands of a docstring, continuation lines joined."""
    commands, current = [], None
    for line in doc.splitlines():
        line = line.strip()
        if line.startswith('python '):
            current = line
        elif current is not None and line:
            current += ' ' + line
        if current is not None and not current.endswith('\\'):
            commands.append(current)
            current = None
        elif current is not None:
            current = current[:-1].rstrip()
    return commands


@pytest.mark.parametrize('name', ALL_TOOLS)
def test_usage_and_examples_name_the_tool_by_its_path(name, capsys):
    """Every usage line and docstring example can be copied as it stands
    (issue 19: the tables lacked the path and the required --out)."""
    tool = load_tool(name)
    path = f'python tools/analysis_tools/{name}.py'
    commands = doc_commands(tool.__doc__)
    assert commands
    for command in commands:
        assert command.startswith(path + ' '), command
        if name in WRITES_A_FIGURE:
            assert ' --out ' in command, command
    parse = getattr(tool, 'parse_args', None) or tool.main
    with pytest.raises(SystemExit):
        parse(['-h'])
    usage = capsys.readouterr().out
    assert usage.startswith(f'usage: {path} '), usage
    if name in WRITES_A_FIGURE:
        assert ' --out OUT' in usage and '[--out' not in usage
