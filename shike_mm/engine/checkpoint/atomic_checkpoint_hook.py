# Copyright (c) shike-mm contributors. All rights reserved.
import os
import os.path as osp
import signal
import sys
import threading
from contextlib import contextmanager
from typing import List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import MMLogger
from mmpretrain.registry import HOOKS

from ...utils.log_filters import dropped_log_messages
from .file_io import (TEMP_SUFFIX, commit_file, is_local,
                      read_last_checkpoint, remove_quietly,
                      temp_name, write_last_checkpoint)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's :class:`CheckpointHook` that never loses the last good
    checkpoint.

    mmengine's hook deletes the outdated checkpoint (and the previous best)
    *before* writing the new one, writes straight to the final name and
    rewrites ``last_checkpoint`` in place, so a kill or a full disk during
    a save leaves nothing to resume from. This hook, for checkpoints on a
    local file system:

    - writes every checkpoint to a temporary name in the same directory
      (``.epoch_3.pth.part``), flushes it to disk and renames it
      (:func:`~shike_mm.engine.checkpoint.file_io.commit_file`): a file under a
      checkpoint name is always complete;
    - then replaces ``last_checkpoint`` atomically, with a path relative to
      the work directory (a moved or copied work directory resumes);
    - only then removes the checkpoints beyond ``max_keep_ckpts`` and the
      previous best, and only files in its own ``out_dir`` (a copied work
      directory never removes the original's files);
    - on SIGTERM (what schedulers send before they kill) finishes the
      checkpoint being written, if any, and exits with status 143 naming
      the last good checkpoint;
    - removes temporary files left by a killed run when training starts.

    A failed save (``ENOSPC`` ...) leaves the previous checkpoints and
    ``last_checkpoint`` as they were, and says so. Remote ``out_dir``
    (``s3://`` ...) keep mmengine's behaviour.

    Every argument is mmengine's :class:`CheckpointHook`'s.
    """

    _saving = 0
    _pending_signal: Optional[int] = None

    #: What mmengine 0.10 logs in every run: ``CheckpointHook.before_train``
    #: (mmengine/hooks/checkpoint_hook.py, line 273) and
    #: ``mmengine.runner.checkpoint.save_checkpoint`` (mmengine/runner/
    #: checkpoint.py, line 784) build a ``FileClient`` unconditionally "to
    #: avoid breaking backward compatibility", even when
    #: ``file_client_args`` is None and they then use ``get_file_backend``;
    #: that ``FileClient`` builds a ``HardDiskBackend``. No argument avoids
    #: the calls, so these two deprecation notices are dropped while they
    #: run, and only those; with ``file_client_args`` set (the user asked
    #: for a ``FileClient``) mmengine's notice stays.
    UPSTREAM_NOTICES = ('"FileClient" will be deprecated in future',
                        '"HardDiskBackend" is the alias of "LocalBackend"')

    @contextmanager
    def _without_upstream_notices(self):
        """Drop :attr:`UPSTREAM_NOTICES` from the current ``MMLogger``
        while the block runs (unless ``file_client_args`` is set)."""
        if self.file_client_args is not None:
            yield
            return
        with dropped_log_messages(MMLogger.get_current_instance(),
                                  self.UPSTREAM_NOTICES):
            yield

    def before_train(self, runner) -> None:
        with self._without_upstream_notices():
            super().before_train(runner)
        self._runner = runner
        if not is_local(self.out_dir):
            return
        best = getattr(self, 'best_ckpt_path', None)
        if best and is_local(best):
            # Resumed in a copy of the work directory: the message hub
            # still names the original's best checkpoint.
            self.best_ckpt_path = osp.join(self.out_dir, osp.basename(best))
        for name, best in list(getattr(self, 'best_ckpt_path_dict',
                                       {}).items()):
            if best and is_local(best):
                self.best_ckpt_path_dict[name] = osp.join(
                    self.out_dir, osp.basename(best))
        if is_main_process() and osp.isdir(self.out_dir):
            for name in os.listdir(self.out_dir):
                if name.startswith('.') and name.endswith(TEMP_SUFFIX):
                    runner.logger.warning(
                        f'removing {name}, a checkpoint left incomplete by '
                        'an interrupted run')
                    remove_quietly(osp.join(self.out_dir, name))
        self._install_sigterm_handler()

    def after_train(self, runner) -> None:
        self._restore_sigterm_handler()
        super().after_train(runner)

    # ------------------------------------------------------------------
    # SIGTERM
    # ------------------------------------------------------------------
    def _install_sigterm_handler(self) -> None:
        self._previous_handler = None
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous_handler = signal.signal(signal.SIGTERM,
                                               self._on_signal)

    def _restore_sigterm_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None

    def _on_signal(self, signum, frame) -> None:
        if self._saving:
            self._pending_signal = signum
            return
        self._exit_on_signal(signum)

    def _exit_on_signal(self, signum: int) -> None:
        self._restore_sigterm_handler()
        runner = self._runner
        try:
            last = read_last_checkpoint(runner.work_dir)
        except OSError as err:
            last = f'none usable ({err})'
        where = f'epoch {runner.epoch + 1}, iteration {runner.iter + 1}'
        if last is None:
            kept = 'no checkpoint has been written yet'
        else:
            kept = (f'the last good checkpoint is {last} (--resume '
                    'continues from it)')
        message = (f'{signal.Signals(signum).name} received at {where}: '
                   f'training stopped; {kept}')
        runner.logger.error(message)
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(128 + signum)

    @contextmanager
    def _saving_guard(self):
        """Defer SIGTERM until the checkpoint, ``last_checkpoint`` and the
        removal of outdated files are all done."""
        self._saving += 1
        try:
            yield
        finally:
            self._saving -= 1
        if not self._saving and self._pending_signal is not None:
            signum, self._pending_signal = self._pending_signal, None
            self._exit_on_signal(signum)

    # ------------------------------------------------------------------
    # Saving
    # ------------------------------------------------------------------
    def _write(self, runner, filename: str, **kwargs) -> str:
        """Save the runner's checkpoint as ``out_dir/filename``, complete
        or not at all.

        Args:
            runner (Runner): The runner.
            filename (str): The final file name.
            **kwargs: Passed to ``runner.save_checkpoint``.

        Returns:
            str: The final path.
        """
        final = osp.join(self.out_dir, filename)
        temp = osp.join(self.out_dir, temp_name(filename))
        try:
            with self._without_upstream_notices():
                runner.save_checkpoint(self.out_dir, osp.basename(temp),
                                       self.file_client_args,
                                       backend_args=self.backend_args,
                                       **kwargs)
            if is_main_process():
                commit_file(temp, final)
        except OSError as err:
            if is_main_process():
                remove_quietly(temp)
            try:
                last = read_last_checkpoint(runner.work_dir)
            except OSError:
                last = None
            kept = (f'the last good checkpoint, {last}, is kept; '
                    '--resume continues from it' if last else
                    'no earlier checkpoint exists')
            raise OSError(
                err.errno, f'could not write the checkpoint {final}: '
                f'{err.strerror or err}. Nothing was removed: {kept}.'
            ) from err
        except BaseException:
            if is_main_process():
                remove_quietly(temp)
            raise
        return final

    def _remove(self, runner, path: Optional[str]) -> None:
        """Remove an outdated checkpoint of this ``out_dir``."""
        if (not path or not is_main_process()
                or osp.dirname(osp.abspath(path)) !=
                osp.abspath(self.out_dir)):
            return
        if osp.isfile(path):
            self.file_backend.remove(path)
        elif osp.isdir(path):  # DeepSpeed checkpoints are directories
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not is_local(self.out_dir):
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated: List[int] = []
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with self._saving_guard():
            self._write(
                runner, filename, save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, **self.args)
            if not is_main_process():
                return
            write_last_checkpoint(runner.work_dir, self.last_ckpt)
            for old in outdated:
                self._remove(runner, osp.join(self.out_dir,
                                              self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self.save_best:
            return
        if not is_local(self.out_dir):
            return super()._save_best_checkpoint(runner, metrics)
        if self.by_epoch:
            ckpt_filename = self.filename_tmpl.format(runner.epoch)
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            ckpt_filename = self.filename_tmpl.format(runner.iter)
            cur_type, cur_time = 'iter', runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        with self._saving_guard():
            superseded: List[str] = []
            updated = False
            for key_indicator, rule in zip(self.key_indicators, self.rules):
                single = len(self.key_indicators) == 1
                score_key = ('best_score' if single else
                             f'best_score_{key_indicator}')
                info_key = ('best_ckpt' if single else
                            f'best_ckpt_{key_indicator}')
                old_path = (self.best_ckpt_path if single else
                            self.best_ckpt_path_dict[key_indicator])
                best_score = runner.message_hub.runtime_info.get(
                    score_key, self.init_value_map[rule])
                score = metrics[key_indicator]
                if score is None or not self.is_better_than[key_indicator](
                        score, best_score):
                    continue
                name = f'best_{key_indicator}_{ckpt_filename}'.replace(
                    '/', '_')
                path = osp.join(self.out_dir, name)
                updated = True
                runner.message_hub.update_info(score_key, score)
                runner.message_hub.update_info(info_key, path)
                if single:
                    self.best_ckpt_path = path
                else:
                    self.best_ckpt_path_dict[key_indicator] = path
                self._write(runner, name, save_optimizer=False,
                            save_param_scheduler=False, meta=meta,
                            by_epoch=False)
                if old_path and old_path != path:
                    superseded.append(old_path)
                runner.logger.info(
                    f'The best checkpoint with {score:0.4f} {key_indicator} '
                    f'at {cur_time} {cur_type} is saved to {name}.')
            if updated:
                # Save the epoch checkpoint again so that its message hub
                # names the new best (as mmengine does), then remove the
                # superseded best checkpoints.
                if self.last_ckpt is not None:
                    self._save_checkpoint_with_step(runner, cur_time, meta)
                for old in superseded:
                    self._remove(runner, old)
                    runner.logger.info(
                        f'The previous best checkpoint {old} is removed')
