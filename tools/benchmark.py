# Copyright (c) shike-mm contributors. All rights reserved.
"""Training / inference speed, memory and data-pipeline rate of a config.

Builds the model, the optimizer wrapper and the training data loader from
the config as ``tools/train.py`` does, then measures, after warm-up:

- training images/s: ``model.train_step`` (data preprocessor, forward,
  losses, backward, optimizer step) on a fixed batch from the loader,
  median over ``--iters`` iterations;
- inference images/s: ``model.test_step`` on the same batch (eval mode, no
  gradients);
- peak memory: ``torch.cuda.max_memory_allocated`` on a GPU, the process'
  peak resident set size (RSS) on a CPU;
- parameters and FLOPs (multiply-adds, mmengine's counter, one image);
- the training step's achieved GFLOP/s (a trained image counted as 3
  forwards, 2 FLOPs per multiply-add) and, on a CPU whose float32 peak can
  be derived (``shike_mm/utils/cpu_peak.py``: cores used x clock x FLOPs
  per cycle of the ISA in use), the share of that peak; otherwise
  ``peak: unknown`` and why;
- the data pipeline's own images/s (the config's augmentation and
  ``num_workers``, model idle), so it shows which side limits training.

If the dataset files are missing (e.g. CIFAR not downloaded) or with
``--synthetic``, the loader serves random uint8 images of the dataset's
size through the config's training pipeline (loading transforms dropped);
this is printed.

``--reference-repo PATH`` also builds the public SHIKE code from a checkout of
github.com/jinyan-06/SHIKE (commit 2b04b62; loaded at run time by
``shike_mm/testing/shike_reference.py``, nothing of it is copied here): its
``resnet32(num_classes, use_norm=True, num_exps=3)``, its stage-1 loss
``mix_outputs`` and a plain ``torch.optim.SGD`` with its settings (lr 0.05,
momentum 0.9, weight decay 5e-4), in float32. Both train on the same batch
(the config's preprocessed images), one step of each in turn, so that load
from other processes hits both alike; it prints both rates and the ratio,
for training and inference. The model's ``train_step`` is compiled as
``tools/train.py`` compiles it (``shike_mm.engine.compile_step``: the loss
forward, when the config sets ``compile``). ``--stage 2`` measures a
classifier-retraining step: the model in the config's first declared stage
(SHIKE: the head in retraining mode and every parameter frozen except
``head.retrain_classifiers``), put there by the stage code that
``StageSwitchHook`` runs.

``--isa avx2`` measures with the vector instructions capped to AVX2 on a
CPU that has more (AVX-512): the command starts itself again with
``ATEN_CPU_CAPABILITY=avx2``, ``ONEDNN_MAX_CPU_ISA=AVX2``,
``MKL_ENABLE_INSTRUCTIONS=AVX2`` and Inductor's ``cpp.simdlen=256``
(``shike_mm/utils/cpu_isa.py``), and stops if ATen, Inductor or oneDNN
report otherwise. On a CPU the ``isa:`` line always says what each library
runs with.

Examples::

    git clone https://github.com/jinyan-06/SHIKE && \\
        git -C SHIKE checkout 2b04b62
    python tools/benchmark.py configs/shike/shike_r32_cifar100-lt-r100.py \\
        --reference-repo SHIKE --threads 2 --batch-size 128
    python tools/benchmark.py configs/shike/shike_r32_cifar100-lt-r100.py \\
        --stage 2 --threads 2
    # the same side by side with AVX2 only, on an AVX-512 CPU
    python tools/benchmark.py configs/shike/shike_r32_cifar100-lt-r100.py \\
        --reference-repo SHIKE --threads 2 --batch-size 128 --isa avx2
    # on a GPU: fp16 autocast through mmengine's AmpOptimWrapper
    python tools/benchmark.py configs/shike/shike_r50_imagenet-lt.py \\
        --amp --channels-last
"""
import argparse
import copy
import os
import platform
import resource
import statistics
import time
import contextlib
from contextlib import contextmanager

# shike_mm before torch: importing it registers shike-mm modules and bounds
# how long OpenMP threads spin (shike_mm/utils/omp_env.py), which libgomp
# reads when it loads
import shike_mm  # noqa: F401  # isort: skip
import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from shike_mm.datasets import long_tail_counts, read_class_counts
from shike_mm.engine.compile_step import compile_train_step
from shike_mm.engine.hooks.class_counts_hook import deliver_class_counts
from shike_mm.engine.stages import apply_stage, stage_recipe_of
from shike_mm.structures import ClassCounts
from shike_mm.testing.shike_reference import (build_reference_step,
                                              cpu_cuda_calls, load_reference)
from shike_mm.testing.train_data import (SyntheticDataset, build_train_data,
                                         load_config)
from shike_mm.utils.compile_support import compile_unavailable
from shike_mm.utils.cpu_isa import (ISA_CHOICES, apply_inductor_isa,
                                    check_isa_report, format_isa_report,
                                    isa_env, isa_report, requested_isa)
from shike_mm.utils.cpu_peak import cpu_peak
from shike_mm.utils.omp_env import describe_wait
from shike_mm.utils.restart import restart_with_env


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Measure training / inference speed and memory')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--batch-size', type=int, help='batch size (default: the config)')
    parser.add_argument(
        '--threads',
        type=int,
        help='intra-op CPU threads (torch.set_num_threads)')
    parser.add_argument(
        '--iters',
        type=int,
        default=10,
        help='timed iterations per measurement (median reported)')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed iterations first')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: AmpOptimWrapper (fp16) on a GPU, bf16 '
        'autocast on a CPU; inference under the same autocast')
    parser.add_argument(
        '--channels-last',
        nargs='?',
        const='on',
        choices=('on', 'off'),
        help="set backbone.channels_last ('--channels-last' or "
        "'--channels-last off'; default: the config)")
    parser.add_argument(
        '--compile',
        nargs='?',
        const='on',
        choices=('on', 'off'),
        help="torch.compile train_step / test_step as the runner does "
        "('--compile' or '--compile off'; default: the config's "
        "`compile`, on in the SHIKE CIFAR configs). The warm-up includes "
        'the compilation')
    parser.add_argument(
        '--reference-repo',
        metavar='PATH',
        help='checkout of github.com/jinyan-06/SHIKE (commit 2b04b62): '
        'time its model, stage-1 loss and SGD step alternately with the '
        "config's")
    parser.add_argument(
        '--stage',
        type=int,
        choices=(1, 2),
        default=1,
        help='2: classifier retraining (frozen backbone, retrain head)')
    parser.add_argument(
        '--synthetic',
        action='store_true',
        help='random images even if the dataset exists')
    parser.add_argument(
        '--data-batches',
        type=int,
        default=10,
        help='batches timed for the data-pipeline rate (0: skip)')
    parser.add_argument(
        '--workers', type=int, help='data loader workers (default: config)')
    parser.add_argument(
        '--device', help="'cpu' or 'cuda' (default: cuda if available)")
    parser.add_argument(
        '--no-flops', action='store_true', help='skip the FLOPs count')
    parser.add_argument(
        '--isa',
        choices=ISA_CHOICES,
        help="cap the CPU instruction set: 'avx2' starts the same command "
        'again with ATen, oneDNN, MKL and Inductor limited to AVX2 (the '
        "variables are read when torch loads); 'native' without any cap. "
        'The "isa:" line reports what each library uses (default: as the '
        'environment sets it)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    if args.reference_repo and args.stage == 2:
        parser.error('--reference-repo measures stage 1 only')
    return args


# ----------------------------------------------------------------------
# data
# ----------------------------------------------------------------------
def data_rate(loader, num_batches):
    """Images/s of the loader alone (the first batch, which starts the
    workers, is not timed). Returns (rate, first batch)."""
    it = iter(loader)
    first = next(it)
    if num_batches <= 0:
        return None, first
    images = 0
    start = time.perf_counter()
    for _ in range(num_batches):
        try:
            batch = next(it)
        except StopIteration:
            break
        images += len(batch['inputs'])
    return images / (time.perf_counter() - start), first


# ----------------------------------------------------------------------
# model
# ----------------------------------------------------------------------
class CPUAutocastOptimWrapper(OptimWrapper):
    """OptimWrapper whose context autocasts to bfloat16 on the CPU
    (mmengine's AmpOptimWrapper needs a GPU)."""

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=torch.bfloat16):
            yield


def build_optim(model, cfg, args, device):
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.amp and device == 'cuda':
        optim_cfg['type'] = 'AmpOptimWrapper'
    wrapper = build_optim_wrapper(model, optim_cfg)
    if args.amp and device == 'cpu':
        if type(wrapper) is not OptimWrapper:
            raise SystemExit('--amp on a CPU needs optim_wrapper.type='
                             f"'OptimWrapper', got {type(wrapper).__name__}")
        wrapper.__class__ = CPUAutocastOptimWrapper
    return wrapper


def training_counts(dataset, num_classes):
    """The class counts a training run would hand the model: those of the
    config's training set, or, for synthetic data, the CIFAR-LT profile
    (500 to 5 images, imbalance 100; only the values of the logit offsets
    depend on it, not the cost)."""
    if isinstance(dataset, SyntheticDataset):
        return ClassCounts.of(long_tail_counts(500, num_classes, 100))
    return read_class_counts(dataset, num_classes)


def enter_retraining_stage(model, cfg, counts):
    """Put ``model`` in the config's first declared stage (SHIKE: classifier
    retraining) as ``StageSwitchHook`` does when the stage starts
    (:func:`~shike_mm.engine.stages.apply_stage`: the head's mode and the
    trainable set); the class counts reach the model's consumers as
    ``ClassCountsHook`` hands them over."""
    recipe = stage_recipe_of(cfg)
    if recipe is None:
        raise SystemExit('--stage 2 needs a config with a StageSwitchHook '
                         '(a decoupled schedule)')
    deliver_class_counts(model, counts)
    apply_stage(model, recipe.stages[0])


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def flops_per_image(model, input_shape):
    """Multiply-adds of one forward
    (:func:`shike_mm.analysis.complexity.model_complexity`)."""
    from shike_mm.analysis.complexity import model_complexity
    return model_complexity(model, input_shape)['flops']


# ----------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------
def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def alternate(fns, iters, warmup, device):
    """Run ``warmup`` untimed then ``iters`` timed calls of every function,
    one call of each in turn. Returns {name: [seconds, ...]}."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(device)
    times = {name: [] for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return times


def describe(times, batch_size):
    med = statistics.median(times)
    return (f'{batch_size / med:8.1f} images/s  (median of {len(times)}: '
            f'{med * 1000:.0f} ms/iter, range {min(times) * 1000:.0f}-'
            f'{max(times) * 1000:.0f} ms)')


def side_by_side(kind, times, batch_size):
    """One line: reference images/s, ours, ours / reference."""
    ref = batch_size / statistics.median(times['reference'])
    ours = batch_size / statistics.median(times['ours'])
    return (f'{kind} side by side: reference {ref:.1f} images/s, ours '
            f'{ours:.1f} images/s, ours / reference {ours / ref:.2f}x')


def peak_memory(device):
    if device == 'cuda':
        return (f'{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB '
                '(torch.cuda.max_memory_allocated)')
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f'{rss_kib / 2**10:.0f} MiB (peak RSS of this process)'


def compute_lines(macs, seconds, batch_size, device, amp):
    """The training step's achieved GFLOP/s and, on a CPU whose peak
    :func:`~shike_mm.utils.cpu_peak.cpu_peak` can derive, its share.

    Convention: a trained image costs 3 forwards (the forward, and a
    backward of about twice its multiply-adds) and a multiply-add is 2
    FLOPs, so ``6 x macs`` FLOPs; the optimizer step and the loss are not
    counted.
    """
    per_image = 6 * macs
    achieved = per_image * batch_size / seconds / 1e9
    lines = [f'compute: {per_image / 1e9:.2f} GFLOP per trained image '
             '(3 x forward multiply-adds x 2 FLOPs), training step '
             f'{achieved:.1f} GFLOP/s']
    if device != 'cpu':
        return lines
    if amp:
        return lines + ['peak: unknown (the table is float32; --amp runs '
                        'bfloat16)']
    peak = cpu_peak(torch.backends.cpu.get_cpu_capability(),
                    torch.get_num_threads())
    if peak.gflops is None:
        return lines + [f'peak: unknown ({peak.explanation})']
    return lines + [f'peak: {peak.gflops:.1f} GFLOP/s float32 = '
                    f'{peak.explanation}; the training step reaches '
                    f'{100 * achieved / peak.gflops:.0f} % of it']


def main(argv=None):
    args = parse_args(argv)
    # the --isa cap, read when torch loads; this returns once it is in
    # place, in the restarted process (started without --isa)
    env = dict(os.environ)
    if args.isa is not None:
        env = isa_env(args.isa, env)
    restart_with_env(env, drop_option='--isa')
    isa = requested_isa()
    apply_inductor_isa(isa)
    cfg = load_config(args)
    if args.channels_last:
        cfg.model.backbone['channels_last'] = args.channels_last == 'on'
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available')
    # measured compiled when the config compiles, as the runner runs it
    compile_cfg = cfg.get('compile', None)
    if args.compile == 'off':
        compile_cfg = None
    elif args.compile == 'on' and not compile_cfg:
        compile_cfg = True
    if compile_cfg:
        problem = compile_unavailable(compile_cfg, device == 'cuda')
        if problem is not None:
            print(f'compile {compile_cfg!r} not used: {problem}')
            compile_cfg = None
    compile_kwargs = dict(compile_cfg) if isinstance(compile_cfg, dict) \
        else {}
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    # keep init / loading / FLOP-counter messages out of the report
    MMLogger.get_instance('benchmark', log_level='ERROR')
    torch.manual_seed(0)

    batch_size = cfg.train_dataloader.batch_size
    num_classes = cfg.model.head.num_classes
    load_before = os.getloadavg()
    print(f'config: {args.config}')
    print(f'device: {device} ({platform.processor() or platform.machine()}'
          f', {torch.get_num_threads()} intra-op threads), torch '
          f'{torch.__version__}, batch {batch_size}, stage {args.stage}, '
          f'amp {"on" if args.amp else "off"}, '
          f'channels_last {cfg.model.backbone.get("channels_last", False)}'
          f', compile {compile_cfg or "off"}')
    print(f'openmp: {describe_wait()}')
    if device == 'cpu':
        report = isa_report()
        print(format_isa_report(isa, report))
        try:
            check_isa_report(isa, report)
        except RuntimeError as error:
            raise SystemExit(str(error))

    loader, data_desc = build_train_data(cfg, args, num_classes)
    print(f'data: {data_desc}')
    counts = training_counts(loader.dataset, num_classes)
    rate, batch = data_rate(loader, args.data_batches)
    if rate is not None:
        print(f'data pipeline: {rate:8.1f} images/s '
              f'({loader.num_workers} workers, {args.data_batches} batches, '
              'model idle)')
    del loader

    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device)
    model.train()
    stage1 = None
    if args.stage == 2:
        # the same weights in stage 1, timed alongside for the cost ratio
        stage1 = copy.deepcopy(model)
        enter_retraining_stage(model, cfg, counts)
    optim = build_optim(model, cfg, args, device)
    print(f'params: {count_params(model):,} ('
          f'{sum(p.numel() for p in model.parameters() if p.requires_grad):,}'
          ' trainable)')
    if compile_cfg:
        # as tools/train.py's runner: the loss forward of train_step
        if not compile_train_step(model, compile_cfg):
            model.train_step = torch.compile(model.train_step,
                                             **compile_kwargs)
        model.test_step = torch.compile(model.test_step, **compile_kwargs)

    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    # warm-up, and the model's memory peak on its own
    alternate({'model': lambda: model.train_step(batch, optim)},
              iters=0,
              warmup=args.warmup,
              device=device)
    train_memory = peak_memory(device)

    # the reference timed alternately with the model
    name = 'stage 2' if stage1 is not None else (
        'ours' if args.reference_repo else 'model')
    train_fns = {name: lambda: model.train_step(batch, optim)}
    test_fns = {name: lambda: model.test_step(batch)}
    # --amp: inference under autocast too, as test_cfg=dict(fp16=True)
    amp_ctx = torch.autocast(
        device, dtype=torch.float16 if device == 'cuda' else
        torch.bfloat16) if args.amp else contextlib.nullcontext()
    ref = None
    if args.reference_repo:
        ref = 'reference'
        shike_ref = load_reference(args.reference_repo)
        torch.manual_seed(0)
        ref_model, _, ref_step = build_reference_step(
            shike_ref, num_classes, device=device)
        ref_model.train()
        ref_data = model.data_preprocessor(batch, False)
        ref_inputs = ref_data['inputs'].detach().clone()
        ref_labels = torch.as_tensor(
            [int(s.gt_label) for s in ref_data['data_samples']],
            device=device)
        print(f'reference: {shike_ref.repo} (public SHIKE code: networks.'
              f'resnet32, cifarTrain.mix_outputs, torch.optim.SGD), params '
              f'{count_params(ref_model):,}')
        train_fns[ref] = lambda: ref_step(ref_inputs, ref_labels)

        def ref_test():
            with torch.no_grad(), cpu_cuda_calls():
                outputs = ref_model(ref_inputs, False)
                return sum(outputs) / len(outputs)

        test_fns[ref] = ref_test
    elif stage1 is not None:
        ref, ref_model = 'stage 1', stage1
        ref_optim = build_optim(ref_model, cfg, args, device)
        train_fns[ref] = lambda: ref_model.train_step(batch, ref_optim)
        test_fns[ref] = lambda: ref_model.test_step(batch)

    train_times = alternate(
        train_fns,
        iters=args.iters,
        warmup=args.warmup if ref is not None else 0,
        device=device)
    for key, times in train_times.items():
        print(f'train step ({key}): {describe(times, batch_size)}')
    if ref == 'reference':
        print(side_by_side('train', train_times, batch_size))
    elif ref == 'stage 1':
        ratio = statistics.median(train_times['stage 2']) / statistics.median(
            train_times['stage 1'])
        print(f'a retraining step costs {ratio:.2f} of a stage-1 step '
              '(same data per epoch, so the same ratio per epoch)')

    model.eval()
    if ref == 'reference':  # stage-1 and stage-2 predictions cost the same
        ref_model.eval()
        with torch.no_grad(), amp_ctx:
            test_times = alternate(
                test_fns, iters=args.iters, warmup=1, device=device)
        for key, times in test_times.items():
            print(f'inference ({key}): {describe(times, batch_size)}')
        print(side_by_side('inference', test_times, batch_size))
    else:
        with torch.no_grad(), amp_ctx:
            test_times = alternate({name: test_fns[name]},
                                   iters=args.iters,
                                   warmup=1,
                                   device=device)
        print(f'inference: {describe(test_times[name], batch_size)}')
    print(f'peak memory (stage {args.stage} training, measured before any '
          f'reference model was built): {train_memory}')

    if not args.no_flops:
        shape = model.data_preprocessor(batch, False)['inputs'].shape[1:]
        flops = flops_per_image(model, shape)
        print(f'FLOPs: {flops / 1e6:,.1f} M multiply-adds per '
              f'{"x".join(map(str, shape))} image (whole forward)')
        if args.stage == 1:
            for line in compute_lines(flops,
                                      statistics.median(train_times[name]),
                                      batch_size, device, args.amp):
                print(line)
    load_after = os.getloadavg()
    print(f'load average (1 min) before / after: {load_before[0]:.2f} / '
          f'{load_after[0]:.2f} on {os.cpu_count()} CPUs')


if __name__ == '__main__':
    main()
