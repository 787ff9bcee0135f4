# Copyright (c) shike-mm contributors. All rights reserved.
# torch.compile the training step: tools/train.py turns this entry into a
# CompileHook (shike_mm/engine/hooks/compile_hook.py), which compiles the loss
# forward of train_step (shike_mm/engine/compile_step.py; mmengine's
# optimizer wrapper stays eager, so its step counter does not recompile
# the graph). Inductor fuses BatchNorm, ReLU and the losses into a few
# generated kernels; the convolutions stay oneDNN's. Speed against the
# public SHIKE code (tools/benchmark.py --reference-repo): see
# docs/performance.md; float64-equal results and float32 rounding of the
# uncompiled model's order. For long schedules only:
# compiling costs minutes once per stage and batch shape (static shapes:
# the last, smaller batch of an epoch gets its own graph instead of
# turning every graph dynamic). Without a C++ compiler (CPU) or Triton
# (GPU) CompileHook warns and trains uncompiled; `compile=False`
# turns it off.
compile = dict(dynamic=False)
