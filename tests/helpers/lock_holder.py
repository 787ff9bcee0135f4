# Copyright (c) shike-mm contributors. All rights reserved.
"""A process that holds a work directory's lock, as a training run does."""
import subprocess
import sys

from shike_mm.engine import work_dir_lock

#: Loads the lock module by its path (no shike_mm import: the process is
#: ready in milliseconds), takes the lock and holds it.
HOLDER = f'''
import importlib.util, sys, time
path = {work_dir_lock.__file__!r}
spec = importlib.util.spec_from_file_location('lock', path)
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
lock.WorkDirLock(sys.argv[1]).acquire()
print('held', flush=True)
time.sleep(120)
'''


def start_holder(work):
    """A process holding ``work``'s lock, once it says so."""
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, str(work)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == 'held'
    return holder
