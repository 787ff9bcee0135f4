# Copyright (c) shike-mm contributors. All rights reserved.
"""Durable, atomic checkpoint files and the ``last_checkpoint`` pointer.

A checkpoint must appear under its final name only once it is complete
and on disk, and ``last_checkpoint`` must always name such a file, so that
a kill, a full disk or a power cut at any instant leaves a checkpoint that
``--resume`` can use:

- :func:`commit_file`: flush a finished temporary file to disk, rename it
  to its final name (``os.replace``, atomic within a directory) and flush
  the directory entry;
- :func:`atomic_write_text`: the same for a small text file;
- :func:`write_last_checkpoint` / :func:`read_last_checkpoint`: the pointer
  holds a path relative to the work directory, so a moved or copied work
  directory still resumes; absolute paths written by older runs are
  accepted.
"""
import os
import os.path as osp
from typing import Optional

#: Suffix of a checkpoint being written; such files are never resumed from.
TEMP_SUFFIX = '.part'
LAST_CHECKPOINT = 'last_checkpoint'


def is_local(path: str) -> bool:
    """Whether ``path`` is a local file path (not ``s3://`` and the like)."""
    return '://' not in str(path)


def temp_name(filename: str) -> str:
    """The name a checkpoint is written under before it is complete."""
    return f'.{filename}{TEMP_SUFFIX}'


def fsync_dir(dirname: str) -> None:
    """Flush a directory's entries (a rename within it) to disk.

    Args:
        dirname (str): The directory.
    """
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:  # platforms without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: str) -> None:
    """Flush a file's data to disk (it may have been written by another
    file object, which was closed without ``fsync``).

    Args:
        path (str): The file.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(temp_path: str, final_path: str) -> None:
    """Make a completely written ``temp_path`` durable and give it the name
    ``final_path`` in one atomic step.

    Both must be in the same directory. On failure ``temp_path`` is
    removed and ``final_path`` is untouched.

    Args:
        temp_path (str): The finished temporary file.
        final_path (str): Its final name.
    """
    try:
        fsync_file(temp_path)
        os.replace(temp_path, final_path)
    except BaseException:
        remove_quietly(temp_path)
        raise
    fsync_dir(osp.dirname(osp.abspath(final_path)))


def remove_quietly(path: str) -> None:
    """Remove ``path`` if it exists; errors are ignored."""
    try:
        os.remove(path)
    except OSError:
        pass


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old
    content or all of ``data``, never a part of it.

    Args:
        path (str): The file to (re)place.
        data (bytes): Its new content.
    """
    dirname = osp.dirname(osp.abspath(path))
    temp = osp.join(dirname, temp_name(osp.basename(path)))
    try:
        with open(temp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise
    fsync_dir(dirname)


def atomic_write_text(path: str, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode('utf-8'))


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Point ``work_dir/last_checkpoint`` at ``checkpoint``, atomically.

    A local checkpoint is stored relative to ``work_dir`` (``epoch_3.pth``)
    so that the pointer survives moving or copying the work directory.

    Args:
        work_dir (str): The run's work directory.
        checkpoint (str): The checkpoint's path (or URL).
    """
    target = str(checkpoint)
    if is_local(target):
        target = osp.relpath(osp.abspath(target), osp.abspath(work_dir))
    atomic_write_text(osp.join(work_dir, LAST_CHECKPOINT), target)


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint that ``work_dir/last_checkpoint`` points at.

    Relative paths are resolved against ``work_dir``. An absolute path
    (written by mmengine or by older shike-mm runs) that no longer exists
    is looked up by its file name in ``work_dir``, where a copied work
    directory holds it.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str or None: The checkpoint's path, or None when there is no
        ``last_checkpoint`` file.

    Raises:
        FileNotFoundError: when the pointer names a file that does not
            exist (neither as written nor in ``work_dir``).
    """
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        target = f.read().strip()
    if not target or not is_local(target):
        return target or None
    if not osp.isabs(target):
        target = osp.join(work_dir, target)
    if osp.isfile(target):
        return target
    moved = osp.join(work_dir, osp.basename(target))
    if osp.isfile(moved):
        return moved
    raise FileNotFoundError(
        f'{pointer} names the checkpoint {target}, which does not exist '
        f'(nor does {moved}). Pass --resume PATH to choose a checkpoint.')
