# Copyright (c) shike-mm contributors. All rights reserved.
"""The results a training run logged, read back from its work directory."""
import json
from pathlib import Path


def last_validation(work_dir: Path):
    """Return ``(metrics, run_dir)`` of the newest run in ``work_dir`` that
    logged a validation result."""
    runs = sorted(p.parent.parent
                  for p in work_dir.glob('*/vis_data/scalars.json'))
    for run in reversed(runs):
        last = None
        for line in (run / 'vis_data/scalars.json').read_text().splitlines():
            record = json.loads(line)
            if 'accuracy/top1' in record:
                last = record
        if last is not None:
            return last, run
    raise SystemExit(f'no validation result in {work_dir}/*/vis_data/'
                     f'scalars.json: did the training finish?')
