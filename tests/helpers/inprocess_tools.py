# Copyright (c) shike-mm contributors. All rights reserved.
"""Running a tool's ``main(argv)`` in the test process, for tests that
check what the tool refuses or prints.

Starting ``python tools/train.py ...`` costs an interpreter start and about
7 CPU-seconds of imports before the tool does anything; a test that only
checks that the tool refuses bad input (the exception a user would see, no
result written) gets the same facts from :func:`run_tool` at the cost of
the tool's own work. What only a process shows (the exit status a shell
sees, signals, a lock held by another process, a distributed launch) is
left to tests that start the tool with
:func:`tests.helpers.commands.run_command`.

The run is isolated from the test process and from the next run:

- stdout and stderr are redirected before ``main`` is called, so the
  logger mmengine's Runner creates (its stream handler binds
  ``sys.stdout`` when it is created) writes into the captured text;
- mmengine's global instances (``MMLogger``, ``MessageHub``,
  ``DefaultScope``, ``Visualizer`` and every other ``ManagerMixin``
  subclass) start empty for the run and are restored afterwards, the
  loggers created by the run closed: two runs in the same second (one
  experiment name) share no logger, no message hub, no scope;
- ``os.environ`` (the tools set ``LOCAL_RANK``, mmengine may set
  ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``), the current directory, the
  SIGINT / SIGTERM handlers (a run stopped by an exception leaves
  ``AtomicCheckpointHook``'s handler installed) and the torch / numpy /
  Python random states (the runner seeds them) are restored.

Python warnings are not part of :attr:`ToolRun.output`: pytest records
them. Torch's intra-op threads are reset by the ``_single_thread`` fixture
of ``tests/conftest.py``.
"""
import contextlib
import dataclasses
import io
import os
import random
import signal
from pathlib import Path
from traceback import format_exception, format_exception_only
from typing import Iterator, Optional, Sequence

import numpy as np
import torch

from tests.helpers.tool_modules import load_script

_LOADED = {}


def tool_module(path) -> object:
    """The tool at ``path`` (relative to the repository root), imported
    once per test process."""
    key = str(path)
    if key not in _LOADED:
        _LOADED[key] = load_script(path)
    return _LOADED[key]


@dataclasses.dataclass(repr=False)
class ToolRun:
    """What one in-process call of a tool's ``main(argv)`` left.

    Attributes:
        output (str): stdout and stderr, interleaved as written (the log
            lines of the runner included).
        error (BaseException, optional): The exception ``main`` raised,
            ``SystemExit`` included; None if it returned.
        returned (object): What ``main`` returned (None if it raised).
        traceback (str): The formatted traceback of ``error`` ('' if none);
            the exception itself keeps none, so that the run's frames
            (runner, model, data) are freed.
    """
    output: str
    error: Optional[BaseException] = None
    returned: object = None
    traceback: str = ''

    def __repr__(self) -> str:
        """The end of the output and the traceback (``assert ..., run``
        shows them when an assertion fails)."""
        return (f'ToolRun exit status {self.exit_code}; output ends:\n'
                f'{self.output[-3000:]}\n{self.traceback[-3000:]}')

    @property
    def exit_code(self) -> int:
        """The exit status the process would have had: 0 after a return,
        1 after an exception, the code of a ``SystemExit`` (1 for a
        message, 0 for None)."""
        if self.error is None:
            return 0
        if isinstance(self.error, SystemExit):
            code = self.error.code
            if code is None:
                return 0
            return code if isinstance(code, int) else 1
        return 1

    @property
    def message(self) -> str:
        """What a user sees last: ``TypeName: message`` as Python prints it
        under a traceback (``module.TypeName`` for an exception outside
        the builtins; the text alone for a ``SystemExit`` with a text), ''
        after a return."""
        if self.error is None:
            return ''
        if isinstance(self.error, SystemExit):
            code = self.error.code
            return '' if code is None or isinstance(code, int) else str(code)
        return ''.join(format_exception_only(self.error)).rstrip()

    @property
    def shown(self) -> str:
        """What a terminal would show: the output, then the traceback."""
        return self.output + self.traceback

    def raised(self, kind: type) -> bool:
        """Whether ``main`` raised an exception of type ``kind``."""
        return isinstance(self.error, kind)


def _manager_classes() -> list:
    from mmengine.utils import ManagerMixin
    found, todo = [], [ManagerMixin]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@contextlib.contextmanager
def _fresh_mmengine_instances() -> Iterator[None]:
    """Empty ``_instance_dict`` of every ``ManagerMixin`` class for the
    block; afterwards the previous ones back and the run's loggers
    closed."""
    from collections import OrderedDict

    from mmengine.logging import MMLogger
    saved = {cls: cls.__dict__['_instance_dict']
             for cls in _manager_classes() if '_instance_dict' in cls.__dict__}
    for cls in saved:
        cls._instance_dict = OrderedDict()
    try:
        yield
    finally:
        created = MMLogger._instance_dict.values()
        for logger in list(created):
            for handler in list(logger.handlers):
                handler.close()
                logger.removeHandler(handler)
        for cls in _manager_classes():
            if '_instance_dict' in cls.__dict__:
                cls._instance_dict = saved.get(cls, OrderedDict())


@contextlib.contextmanager
def _restored_process_state() -> Iterator[None]:
    environ = dict(os.environ)
    cwd = os.getcwd()
    handlers = {sig: signal.getsignal(sig)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    rng = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        torch.set_rng_state(rng[0])
        np.random.set_state(rng[1])
        random.setstate(rng[2])


def _drop_frames(err: BaseException) -> None:
    """Clear the tracebacks of ``err`` and the exceptions it chains."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        err.__traceback__ = None
        err = err.__cause__ or err.__context__


def run_tool(path, argv: Sequence) -> ToolRun:
    """Call ``main(argv)`` of the tool at ``path`` in this process.

    Args:
        path (str | Path): The tool, relative to the repository root, e.g.
            ``'tools/train.py'``.
        argv (Sequence): Its command-line arguments (converted with
            ``str``), without the program name.

    Returns:
        ToolRun: The captured output and the exception (or return value).
        ``KeyboardInterrupt`` is not caught.
    """
    main = tool_module(Path(path)).main
    stream = io.StringIO()
    run = ToolRun(output='')
    with _restored_process_state(), _fresh_mmengine_instances():
        with contextlib.redirect_stdout(stream), \
                contextlib.redirect_stderr(stream):
            try:
                run.returned = main([str(a) for a in argv])
            except (Exception, SystemExit) as err:  # noqa: B902
                run.error = err
                run.traceback = ''.join(format_exception(err))
                _drop_frames(err)
    run.output = stream.getvalue()
    return run


def run_train(argv: Sequence) -> ToolRun:
    """``tools/train.py`` in this process (:func:`run_tool`)."""
    return run_tool('tools/train.py', argv)


def run_test(argv: Sequence) -> ToolRun:
    """``tools/test.py`` in this process (:func:`run_tool`)."""
    return run_tool('tools/test.py', argv)
