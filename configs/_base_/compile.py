# Copyright (c) shike-mm contributors. All rights reserved.
# torch.compile the training step (mmengine's Runner compiles train_step
# when a config sets `compile`). Inductor fuses BatchNorm, ReLU and the
# losses into a few generated kernels; the convolutions stay oneDNN's.
# Measured on a 2-core CPU (README, Performance): the SHIKE ResNet-32 step
# 1.23x the plain per-expert implementation (median of five runs), with
# float64-equal results and float32 rounding of the uncompiled model's
# order. For long schedules only:
# compiling costs minutes once per stage and batch shape (static shapes:
# the last, smaller batch of an epoch gets its own graph instead of
# turning every graph dynamic). Without a C++ compiler (CPU) or Triton
# (GPU) DeviceAwareRunner warns and trains uncompiled; `compile=False`
# turns it off.
compile = dict(dynamic=False)
