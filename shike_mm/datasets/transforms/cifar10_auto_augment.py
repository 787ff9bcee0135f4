# Copyright (c) shike-mm contributors. All rights reserved.
"""AutoAugment's CIFAR-10 policy as data for mmpretrain's ``AutoAugment``.

The 25 sub-policies are those of Cubuk et al., "AutoAugment: Learning
Augmentation Policies from Data" (CVPR 2019), in the form used by the
long-tail reference implementations (the widely copied PIL implementation
``CIFAR10Policy``). Each sub-policy is two ``(operation, probability,
magnitude index m in 0..9)`` steps; here each step is an mmpretrain op
transform with its magnitude converted as follows (``m`` is the index):

==============  =======================  ===================================
paper op        reference magnitude      mmpretrain op and argument
==============  =======================  ===================================
ShearX / Y      0.3 * m / 9, random sign ``Shear(magnitude=0.3 / 9 * m,
                                         direction=..., bicubic)``, random
                                         sign (p 0.5)
TranslateX / Y  150 / 331 * m / 9 of the ``Translate(magnitude=150 / 331 / 9
                image size, random sign  * m)`` (fraction of the size),
                                         random sign
Rotate          30 * m / 9 degrees,      ``Rotate(angle=-30 / 9 * m,
                counter-clockwise only   random_negative_prob=0)``; mmcv's
                                         positive angle is clockwise
Color, Contrast factor 1 +- 0.9 * m / 9  ``ColorTransform`` / ``Contrast``
Sharpness,      (random sign)            / ``Sharpness`` / ``Brightness``
Brightness                               ``(magnitude=0.1 * m)``, factor
                                         ``1 + magnitude``, random sign
Posterize       round(8 - 4 * m / 9)     ``Posterize(bits=...)``
                bits
Solarize        threshold 256 - 256*m/9  ``Solarize(thr=256 / 9 * (9 - m))``
AutoContrast,   no magnitude             ``AutoContrast`` / ``Equalize`` /
Equalize,                                ``Invert``
Invert
==============  =======================  ===================================

Fill value 128 for geometric ops (``hparams=dict(pad_val=128)``, as the
reference's ``fillcolor=(128, 128, 128)``); interpolation bicubic for shear,
nearest for translate and rotate, as in the reference. Each step is applied
with its own probability (``prob``); one sub-policy is chosen uniformly per
image.
"""
from mmpretrain.datasets.transforms import AutoAugment
from mmpretrain.registry import TRANSFORMS


def _shear(m, prob, direction):
    return dict(
        type='Shear', magnitude=0.3 / 9 * m, prob=prob, direction=direction)


def _translate(m, prob, direction):
    return dict(
        type='Translate',
        magnitude=150 / 331 / 9 * m,
        prob=prob,
        direction=direction)


def _enhance(op, m, prob):
    # Color / Contrast / Sharpness / Brightness: factor 1 +- 0.1 * m.
    return dict(type=op, magnitude=0.1 * m, prob=prob)


def _solarize(m, prob):
    return dict(type='Solarize', thr=256 / 9 * (9 - m), prob=prob)


def _plain(op, prob):
    return dict(type=op, prob=prob)


# yapf: disable
CIFAR10_POLICIES = [
    # 1-5
    [_plain('Invert', 0.1), _enhance('Contrast', 6, 0.2)],
    [dict(type='Rotate', angle=-30 / 9 * 2, random_negative_prob=0., prob=0.7),
     _translate(9, 0.3, 'horizontal')],
    [_enhance('Sharpness', 1, 0.8), _enhance('Sharpness', 3, 0.9)],
    [_shear(8, 0.5, 'vertical'), _translate(9, 0.7, 'vertical')],
    [_plain('AutoContrast', 0.5), _plain('Equalize', 0.9)],
    # 6-10
    [_shear(7, 0.2, 'vertical'), dict(type='Posterize', bits=5, prob=0.3)],
    [_enhance('ColorTransform', 3, 0.4), _enhance('Brightness', 7, 0.6)],
    [_enhance('Sharpness', 9, 0.3), _enhance('Brightness', 9, 0.7)],
    [_plain('Equalize', 0.6), _plain('Equalize', 0.5)],
    [_enhance('Contrast', 7, 0.6), _enhance('Sharpness', 5, 0.6)],
    # 11-15
    [_enhance('ColorTransform', 7, 0.7), _translate(8, 0.5, 'horizontal')],
    [_plain('Equalize', 0.3), _plain('AutoContrast', 0.4)],
    [_translate(3, 0.4, 'vertical'), _enhance('Sharpness', 6, 0.2)],
    [_enhance('Brightness', 6, 0.9), _enhance('ColorTransform', 8, 0.2)],
    [_solarize(2, 0.5), _plain('Invert', 0.0)],
    # 16-20
    [_plain('Equalize', 0.2), _plain('AutoContrast', 0.6)],
    [_plain('Equalize', 0.2), _plain('Equalize', 0.8)],
    [_enhance('ColorTransform', 9, 0.9), _plain('Equalize', 0.6)],
    [_plain('AutoContrast', 0.8), _solarize(8, 0.2)],
    [_enhance('Brightness', 3, 0.1), _enhance('ColorTransform', 0, 0.7)],
    # 21-25
    [_solarize(5, 0.4), _plain('AutoContrast', 0.9)],
    [_translate(9, 0.9, 'vertical'), _translate(9, 0.7, 'vertical')],
    [_plain('AutoContrast', 0.9), _solarize(3, 0.8)],
    [_plain('Equalize', 0.8), _plain('Invert', 0.1)],
    [_translate(9, 0.7, 'vertical'), _plain('AutoContrast', 0.9)],
]
# yapf: enable


@TRANSFORMS.register_module()
class CIFAR10AutoAugment(AutoAugment):
    """mmpretrain's ``AutoAugment`` with the CIFAR-10 policy preset.

    Text configs cannot import :data:`CIFAR10_POLICIES`, so this thin
    subclass selects it by name::

        dict(type='CIFAR10AutoAugment')

    is ``dict(type='AutoAugment', policies=CIFAR10_POLICIES)``. See the
    module docstring for the magnitude mapping.

    Args:
        hparams (dict): Hyper-parameters merged into the ops that accept
            them. Defaults to ``dict(pad_val=128)``.
    """

    def __init__(self, hparams: dict = dict(pad_val=128)):
        super().__init__(policies=CIFAR10_POLICIES, hparams=hparams)
