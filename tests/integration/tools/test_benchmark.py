# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/benchmark.py runs end to end (tiny settings; no timing asserted):
the CIFAR config without its data falls back to synthetic images, the
public SHIKE code is loaded from a checkout and timed alongside, stage 2
freezes like the retraining hook."""
import importlib.util
import json
import os
import re

import pytest

from shike_mm.utils.omp_env import describe_wait, omp_env
from tests.helpers.commands import check_command, run_command

CONFIG = 'configs/shike/shike_r32_cifar100-lt-r100.py'
TINY = [
    '--batch-size', '4', '--threads', '1', '--iters', '1', '--warmup', '1',
    '--data-batches', '1', '--workers', '0', '--compile', 'off'
]


#: A checkout of github.com/jinyan-06/SHIKE (commit 2b04b62) for the
#: side-by-side test; skipped without one.
REFERENCE_REPO = os.environ.get('SHIKE_REFERENCE_REPO')


@pytest.mark.skipif(
    not REFERENCE_REPO, reason='set SHIKE_REFERENCE_REPO to a checkout of '
    'github.com/jinyan-06/SHIKE (2b04b62)')
def test_benchmark_against_the_reference(python):
    out = check_command([
        python, 'tools/benchmark.py', CONFIG, '--reference-repo',
        REFERENCE_REPO, '--cfg-options',
        'train_dataloader.dataset.dataset.data_root=/nonexistent/cifar100',
        *TINY
    ]).stdout
    assert 'SYNTHETIC: random uint8 32x32x3 images' in out
    assert 'dataset files missing' in out
    assert re.search(r'data pipeline: +[\d.]+ images/s \(0 workers', out)
    assert 'params: 1,277,008 (1,277,008 trainable)' in out
    assert 'compile off' in out  # the config's compile, turned off
    # their resnet32 with 3 experts has the parameters of ours
    assert re.search(r'reference: .*\(public SHIKE code: networks.resnet32, '
                     r'cifarTrain.mix_outputs, torch.optim.SGD\), params '
                     r'1,277,008', out)
    for line in ('train step (ours)', 'train step (reference)',
                 'inference (ours)', 'inference (reference)'):
        assert re.search(re.escape(line) + r': +[\d.]+ images/s', out), line
    for kind in ('train', 'inference'):
        assert re.search(
            kind + r' side by side: reference [\d.]+ images/s, ours [\d.]+ '
            r'images/s, ours / reference [\d.]+x', out), kind
    assert re.search(r'peak memory .*: \d+ MiB \(peak RSS', out)
    assert 'FLOPs: 121.0 M multiply-adds per 3x32x32 image' in out


def test_benchmark_reference_repo_must_be_a_checkout(python, tmp_path):
    proc = run_command([
        python, 'tools/benchmark.py', CONFIG, '--reference-repo',
        str(tmp_path), '--synthetic', '--no-flops', *TINY
    ])
    assert proc.returncode != 0
    assert 'no networks.py, cifarTrain.py, utils.py' in proc.stdout
    assert 'github.com/jinyan-06/SHIKE' in proc.stdout


def test_benchmark_stage2(python):
    out = check_command([
        python, 'tools/benchmark.py', CONFIG, '--stage', '2', '--no-flops',
        '--synthetic', '--channels-last', 'off', *TINY
    ]).stdout
    assert 'forced by --synthetic' in out
    assert 'channels_last False' in out
    # only the 3 retrain classifiers (3 x 100 x 64) train, as in the hook
    assert 'params: 1,277,008 (19,200 trainable)' in out
    assert re.search(r'train step \(stage 2\): +[\d.]+ images/s', out)
    assert re.search(r'train step \(stage 1\): +[\d.]+ images/s', out)
    assert re.search(r'a retraining step costs [\d.]+ of a stage-1 step', out)


def _numerics_rows(out):
    """{variant: [vs float64 abs, rel, (vs plain float32 abs, rel)]}"""
    rows = {}
    for line in out.splitlines():
        match = re.match(r'(plain|default|grouped-off|channels-last|compile)'
                         r'((?: +[\d.]+e[-+]\d+){2,4}) ', line)
        if match:
            rows[match.group(1)] = [float(v) for v in match.group(2).split()]
    return rows


def test_check_numerics_default_rounds_like_the_plain_model(python):
    """The uncompiled default (grouped NCHW) step and the per-expert one
    stay closer to the plain float32 model than it is to float64, and as
    far from float64 as it; float32 itself is measurably off float64.

    Tolerances from the locked stack (torch 2.14.1+cu130 on a CPU, one
    thread, this seeded batch): plain float32 is 2.26e-4 from float64;
    default 6.6e-5 (0.29x of that) and per-expert 3.6e-5 (0.16x) from
    plain float32; both within 1.3 % and 5.3 % of plain's distance to
    float64. The asserts leave about 2x headroom on each.
    """
    out = check_command([
        python, 'tools/check_numerics.py', CONFIG, '--batch-size', '8',
        '--threads', '1', '--synthetic', '--variants', 'default',
        'grouped-off'
    ]).stdout
    assert 'one batch of 8' in out
    rows = _numerics_rows(out)
    assert set(rows) == {'plain', 'default', 'grouped-off'}, out
    plain_error = rows['plain'][0]
    assert plain_error > 1e-6  # float32 rounding is visible
    for name in ('default', 'grouped-off'):
        to64, _, to_plain32, _ = rows[name]
        assert to_plain32 < min(1e-4, plain_error / 2), (name, out)
        assert to64 == pytest.approx(plain_error, rel=0.1), (name, out)


@pytest.mark.skipif(
    not REFERENCE_REPO, reason='set SHIKE_REFERENCE_REPO to a checkout of '
    'github.com/jinyan-06/SHIKE (2b04b62)')
def test_reference_train_loop_on_the_quickstart_data(python, tmp_path):
    """tools/reference_train.py runs the public loop on the config's
    loaders and prints training / validation seconds."""
    out = check_command([
        python, 'tools/reference_train.py',
        'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py',
        '--reference-repo', REFERENCE_REPO, '--epochs', '1', '--work-dir',
        str(tmp_path), '--cfg-options', 'val_dataloader.dataset.indices=64',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False'
    ]).stdout
    assert '2478 training images, 64 test images, batch 128' in out
    assert re.search(r'Epoch: \[0\]\[0/20\]\tTime', out)
    assert re.search(r'epoch 1: training [\d.]+ s, validation [\d.]+ s '
                     r'\(64 images, top-1 [\d.]+ %\)', out)
    assert re.search(r'time: training [\d.]+ s \(1 epochs', out)
    assert (tmp_path / 'checkpoint.pth').is_file()


def test_public_lr_follows_their_scheduler():
    """``public_lr`` gives the per-epoch values of the public code's
    CosineAnnealingLRWarmup for the 200-epoch CIFAR run (stage 1: warm-up
    from 0.05 to 0.15, cosine to epoch 180; retraining: 0.05 to 0.1, cosine
    over 20 epochs)."""
    spec = importlib.util.spec_from_file_location(
        'reference_train_under_test', 'tools/reference_train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stage1 = [module.public_lr(e, 180, 0.15) for e in range(180)]
    assert stage1[:6] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.125, 0.15])
    assert stage1[6] == pytest.approx(0.14999, abs=1e-5)
    assert stage1[174] == pytest.approx(4.3465e-04, rel=1e-4)
    assert stage1[179] == pytest.approx(1.2085e-05, rel=1e-3)
    crt = [module.public_lr(e - 180, 20, 0.1) for e in range(180, 200)]
    assert crt[:6] == pytest.approx(
        [0.0375, 0.05, 0.0625, 0.075, 0.0875, 0.1])
    assert crt[6] == pytest.approx(0.098907, rel=1e-5)
    assert crt[18] == pytest.approx(4.3227e-03, rel=1e-4)
    assert crt[19] == pytest.approx(1.0926e-03, rel=1e-4)


@pytest.mark.skipif(
    not REFERENCE_REPO, reason='set SHIKE_REFERENCE_REPO to a checkout of '
    'github.com/jinyan-06/SHIKE (2b04b62)')
def test_reference_train_public_schedule_retrains(python, tmp_path):
    """--public-schedule: stage 1, then their classifier retraining from
    --cornerstone with the retrain optimizer's warm-up learning rate; the
    last validation's shot groups go to result.json."""
    out = check_command([
        python, 'tools/reference_train.py',
        'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py',
        '--reference-repo', REFERENCE_REPO, '--epochs', '2',
        '--cornerstone', '1', '--public-schedule', '--work-dir',
        str(tmp_path), '--cfg-options', 'val_dataloader.dataset.indices=64',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False'
    ]).stdout
    assert re.search(r'epoch 1: .*, lr 0\.025,', out), out
    assert re.search(r'epoch 2: .*, lr 0\.0375,', out), out
    result = json.loads((tmp_path / 'result.json').read_text())
    assert result['epoch'] == 2 and result['public_schedule']
    assert sum(result['class_counts']) == 2478
    assert result['class_counts'][0] == 1000
    assert {'top1', 'many', 'medium', 'few'} <= set(result)
    assert re.search(r'last validation: top1 [\d.]+, many [\d.]+, medium '
                     r'[\d.]+, few [\d.]+ \(epoch 2\)', out), out


def _has_avx2():
    try:
        with open('/proc/cpuinfo') as f:
            return any(line.startswith('flags') and ' avx2' in line
                       and ' fma' in line for line in f)
    except OSError:
        return False


@pytest.mark.skipif(not _has_avx2(), reason='needs an x86 CPU with AVX2')
def test_benchmark_isa_avx2_restarts_capped(python):
    """--isa avx2: the command starts again with the libraries capped, and
    the "isa:" line shows ATen, Inductor and oneDNN at AVX2; the compute
    line counts 6 FLOPs per forward multiply-add and the peak is cores x
    clock x the AVX2 entry of the table."""
    out = check_command([
        python, 'tools/benchmark.py', CONFIG, '--isa', 'avx2', '--synthetic',
        *TINY
    ], env={'OMP_NUM_THREADS': '2'}).stdout
    # restarted with the environment as it was (the OpenMP wait as
    # `import shike_mm` sets it), plus the cap
    wait = describe_wait(omp_env({**os.environ, 'OMP_NUM_THREADS': '2'}))
    assert f'openmp: {wait}\n' in out
    assert 'OMP_NUM_THREADS=2' in wait
    assert re.search(r'^isa: requested avx2; ATen AVX2, Inductor avx2 '
                     r'\(256-bit\), oneDNN [^,]*AVX2, MKL ', out,
                     re.MULTILINE), out
    assert out.count('config: ') == 1  # the first start printed nothing
    assert re.search(r'train step \(model\): +[\d.]+ images/s', out)
    # 121.0 M multiply-adds x 3 x 2
    assert re.search(r'^compute: 0\.73 GFLOP per trained image \(3 x forward '
                     r'multiply-adds x 2 FLOPs\), training step [\d.]+ '
                     r'GFLOP/s$', out, re.MULTILINE), out
    # an AVX2 peak has a table entry on every AVX2 + FMA CPU but Zen 1;
    # it is unknown only without a clock
    match = re.search(r'^peak: ([\d.]+) GFLOP/s float32 = 1 core x ([\d.]+) '
                      r'GHz \(.*\) x (16|32) FLOP/cycle \(AVX2.*\); the '
                      r'training step reaches \d+ % of it$', out, re.MULTILINE)
    if match is None:
        assert re.search(r'^peak: unknown \(no clock', out, re.MULTILINE), out
    else:
        peak, ghz, per_cycle = map(float, match.groups())
        assert peak == pytest.approx(ghz * per_cycle, rel=0.01)
