# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py --out``: mmengine's ``DumpResults`` in a compact file.

mmengine's ``DumpResults`` pickles every prediction's tensors with torch's
own reduction, which writes for each tensor a legacy ``torch.save`` archive
of its whole *storage*. A prediction's ``pred_score`` is a row of the
batch's (B, C) score tensor, so each of them carried the scores of its
whole batch: with 10 classes and batch 128, about 10 kB per prediction
(101 MB for the 10,000 Fashion-MNIST test images), and about 256 kB for
1000 classes at batch 64. Here each CPU tensor is pickled as its own
elements, as a NumPy array rebuilt by :func:`torch.from_numpy`: the file
loads with ``pickle`` or ``mmengine.load`` into the same list of dicts with
the same keys and torch tensors (``pred_score``, ``pred_label``,
``gt_label``, ``sample_idx``, ...), so mmpretrain's offline evaluation
(``Evaluator.offline_evaluate``) reads it unchanged, at about 170 bytes per
prediction for 10 classes.
"""
import io
import pickle
from typing import Any, Sequence

import torch
from mmengine.evaluator import DumpResults
from mmengine.fileio import put
from mmengine.logging import print_log

from mmpretrain.registry import METRICS

# dtypes that torch.from_numpy rebuilds exactly (not bfloat16, quantized)
_NUMPY_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16,
                 torch.int32, torch.int64, torch.float16, torch.float32,
                 torch.float64, torch.complex64, torch.complex128)


class _CompactPickler(pickle.Pickler):
    """A pickler that writes plain CPU tensors as their elements only."""

    def reducer_override(self, obj):
        if (type(obj) is torch.Tensor and obj.layout == torch.strided
                and obj.device.type == 'cpu' and obj.dtype in _NUMPY_DTYPES
                and not obj.requires_grad):
            return torch.from_numpy, (obj.contiguous().numpy().copy(), )
        return NotImplemented


def compact_dumps(obj: Any) -> bytes:
    """Pickle ``obj`` with every plain CPU tensor stored as its own
    elements (see the module's doc).

    Args:
        obj: Anything picklable.

    Returns:
        bytes: A pickle that ``pickle.loads`` reads back into equal tensors.
    """
    buffer = io.BytesIO()
    # protocol 5 keeps the arrays' bytes in band (one file) and writable,
    # as torch.from_numpy wants them
    _CompactPickler(buffer, protocol=5).dump(obj)
    return buffer.getvalue()


def _own_storage(data: Any) -> Any:
    """``data`` with every tensor copied to the CPU out of the storage it
    shares (a row of the batch's scores), so that gathering results across
    ranks does not carry whole batches either."""
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().clone()
    if isinstance(data, dict):
        return {k: _own_storage(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_own_storage(d) for d in data)
    return data


@METRICS.register_module()
class CompactDumpResults(DumpResults):
    """Dump the predictions to a pickle file, compactly.

    The same contract as mmengine's ``DumpResults`` (a list with one dict
    per test image, the model's ``DataSample.to_dict()``, tensors on the
    CPU), written without the per-tensor storage copies that make mmengine's
    file grow with the batch size and the number of classes.

    Args:
        out_file_path (str): Path of the ``.pkl`` file to write.
        collect_device (str): Device for gathering results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        collect_dir (str, optional): Temporary folder for gathering on the
            CPU. Defaults to None.
    """
    default_prefix = 'dump'  # no metric; set to keep mmengine quiet

    def process(self, data_batch: Any, predictions: Sequence[dict]) -> None:
        """Keep the predictions, each tensor on the CPU in its own
        storage."""
        self.results.extend(_own_storage(list(predictions)))

    def compute_metrics(self, results: list) -> dict:
        """Write ``results`` to ``out_file_path``; no metric."""
        put(compact_dumps(results), self.out_file_path)
        print_log(
            f'{len(results)} predictions written to {self.out_file_path}.',
            logger='current')
        return {}
