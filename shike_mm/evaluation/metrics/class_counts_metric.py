# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional, Sequence

from ...protocols import ClassCountsConsumer
from ...structures import ClassCounts


class ClassCountsMetricMixin(ClassCountsConsumer):
    """The class-counts part of a metric that groups classes by their
    training images (many / medium / few shot) or orders them by them.

    Implements :class:`~shike_mm.protocols.ClassCountsConsumer` for
    metrics. ``ClassCountsHook`` calls :meth:`set_class_counts` with the
    training set's counts before the run (and after a checkpoint is loaded,
    with the counts stored in it), and sets :attr:`counts_source` to say
    where they came from. Call :meth:`_init_class_counts` in ``__init__``.
    """

    def _init_class_counts(self) -> None:
        #: Training images per class, class 0 first; None until set.
        self.class_counts: Optional[List[int]] = None
        #: The same as a :class:`~shike_mm.structures.ClassCounts`.
        self.counts: Optional[ClassCounts] = None
        #: Where the counts came from (set by ClassCountsHook), logged.
        self.counts_source: Optional[str] = None

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Give the metric the training images per class; may be called
        again.

        Args:
            counts (ClassCounts | Sequence[int]): One non-negative count
                per class, class 0 first (the value
                :class:`~shike_mm.structures.ClassCounts` that
                ``ClassCountsHook`` hands over, or a plain list).

        Raises:
            ValueError: From :meth:`ClassCounts.of
                <shike_mm.structures.ClassCounts.of>`, e.g. for no class or
                a negative count.
        """
        self.counts = ClassCounts.of(
            counts, where=f'{type(self).__name__}.set_class_counts: counts')
        self.class_counts = self.counts.tolist()
