# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Sequence, Tuple

from mmengine.dataset import pseudo_collate
from torch.utils.data import Dataset


class TwoViewDataset(Dataset):
    """Two independently augmented views of each image of a subset.

    mmengine's ``BaseDataset`` runs its pipeline on a fresh copy of the
    data info at every access, so reading an index twice draws two views
    (SADE's ``TwoCropsTransform``).

    Args:
        dataset (Dataset): A dataset whose pipeline augments randomly.
        indices (Sequence[int]): The indices of ``dataset`` to serve.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> Tuple[dict, dict]:
        index = self.indices[idx]
        return self.dataset[index], self.dataset[index]


def collate_views(batch: List[Tuple[dict, dict]]) -> Tuple[dict, dict]:
    """Collate a batch of view pairs into one batch per view
    (``pseudo_collate`` each: the data preprocessor stacks them)."""
    return (pseudo_collate([pair[0] for pair in batch]),
            pseudo_collate([pair[1] for pair in batch]))
