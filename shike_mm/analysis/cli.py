# Copyright (c) shike-mm contributors. All rights reserved.
"""The command-line side of the analysis tools: their argument parsers
and the headless matplotlib backend. Only entry points (``tools/``) import
this module; the analysis library itself parses nothing and leaves the
backend alone."""
import argparse
import os.path as osp

from mmengine.config import DictAction

from ..structures import FEW_SHOT_THR, MANY_SHOT_THR


def use_headless_backend() -> None:
    """Select matplotlib's Agg backend (files only, no display needed).
    Call it before ``matplotlib.pyplot`` is imported."""
    import matplotlib
    matplotlib.use('Agg')


def tool_parser(file: str, doc: str) -> argparse.ArgumentParser:
    """The argument parser of the tool ``file``: its usage line names it by
    its path from the repository root, and ``-h`` prints its docstring
    ``doc`` (with the examples) as written.

    Args:
        file (str): The tool's ``__file__``.
        doc (str): The tool's ``__doc__``.

    Returns:
        argparse.ArgumentParser: Without arguments yet.
    """
    return argparse.ArgumentParser(
        prog=f'python tools/analysis_tools/{osp.basename(file)}',
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter)


def add_common_args(
        parser: argparse.ArgumentParser,
        out_help: str = 'PNG file to write (folders created)',
        out_required: bool = True) -> None:
    """Arguments every model-reading tool takes after ``config checkpoint``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        out_help (str): What ``--out`` writes.
        out_required (bool): Whether ``--out`` must be given.
    """
    parser.add_argument('--out', required=out_required, help=out_help)
    parser.add_argument(
        '--device',
        default=None,
        help='torch device, default cuda when available else cpu')
    parser.add_argument(
        '--many-shot-thr',
        type=int,
        default=MANY_SHOT_THR,
        help='many-shot: more training images than this (default '
        f'{MANY_SHOT_THR})')
    parser.add_argument(
        '--few-shot-thr',
        type=int,
        default=FEW_SHOT_THR,
        help='few-shot: fewer training images than this (default '
        f'{FEW_SHOT_THR})')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries of every model, key=value, e.g. '
        'test_dataloader.dataset.indices=1000 for a quick look')
