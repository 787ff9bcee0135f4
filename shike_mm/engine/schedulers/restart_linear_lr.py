# Copyright (c) shike-mm contributors. All rights reserved.
from mmengine.optim.scheduler import LinearLR
from mmpretrain.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class RestartLinearLR(LinearLR):
    """A linear learning-rate ramp computed from the *base* learning rate,
    not from the current one.

    mmengine's schedulers are chainable: each step multiplies the value the
    previous scheduler left behind. That cannot express a warm restart after
    a cosine decay has driven the learning rate to ~0 (SHIKE's classifier
    retraining restarts at 0.0375 and ramps to 0.1 although stage 1 ended at
    1.2e-5). This scheduler ignores the current value and sets

    .. math::

        lr_t = lr_{base} \\cdot \\Big(s + (e - s) \\cdot
               \\frac{\\min(t, T)}{T}\\Big), \\quad T = end - begin - 1,

    where ``t`` counts steps from ``begin``, ``s``/``e`` are
    ``start_factor``/``end_factor`` and ``lr_base`` is the optimizer's
    initial learning rate. So ``begin`` gets ``s * lr_base`` and the last
    step of the range (``end - 1``) gets ``e * lr_base``. A following
    chainable scheduler (e.g. ``CosineAnnealingLR`` with ``begin=end - 1``)
    continues from there.

    Args:
        optimizer (Optimizer or OptimWrapper): Wrapped optimizer.
        start_factor (float): Multiple of the base lr at ``begin``.
        end_factor (float): Multiple of the base lr at ``end - 1``.
        begin (int): First step (epoch when ``by_epoch``) of the ramp.
        end (int): One past the last step of the ramp.
        by_epoch (bool): Count epochs (True) or iterations.
    """

    def _get_value(self):
        """Closed form from ``base_values``; independent of the current lr."""
        if self.total_iters > 0:
            progress = min(self.last_step, self.total_iters) / self.total_iters
        else:
            progress = 1.0
        factor = self.start_factor + (self.end_factor -
                                      self.start_factor) * progress
        return [base * factor for base in self.base_values]
