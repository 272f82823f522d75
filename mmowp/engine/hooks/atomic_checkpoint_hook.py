"""MMEngine's CheckpointHook with writes that cannot leave a run unable to resume.

``CheckpointHook._save_checkpoint_with_step`` (MMEngine 0.10.7) first *deletes* the
oldest kept checkpoint (``max_keep_ckpts``), then writes ``iter_N.pth`` in place, then
``last_checkpoint``. A process killed while writing ``iter_N.pth`` with
``max_keep_ckpts=1`` therefore leaves only a truncated ``iter_N.pth`` and a
``last_checkpoint`` naming the deleted file: nothing to resume from. Data not yet on the
disk at a power loss truncates a checkpoint that ``last_checkpoint`` already names.

:class:`AtomicCheckpointHook` overrides only that step: the checkpoint is written by
``Runner.save_checkpoint`` under a temporary name, flushed to disk and renamed
(``os.replace``, atomic) to ``iter_N.pth``; ``last_checkpoint`` is replaced the same way;
only then is the outdated checkpoint deleted.
"""
import os
import os.path as osp

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

from ...utils.checkpoint import replace_atomically, write_text_atomically


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` that writes checkpoints atomically.

    Arguments and behaviour otherwise as ``CheckpointHook``. For a non-local ``out_dir``
    (object stores write whole objects) or with the deprecated ``file_client_args`` it
    saves as ``CheckpointHook`` does.
    """

    def _save_checkpoint_with_step(self, runner: Runner, step: int, meta: dict) -> None:
        """Save ``filename_tmpl.format(step)`` atomically, then drop outdated ones."""
        if self.file_client_args is not None or not isinstance(self.file_backend,
                                                                LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)

        # bookkeeping as CheckpointHook (the saved message hub holds the kept ids), but the
        # file it drops is only deleted once the new checkpoint is complete
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        tmp_filename = f'{ckpt_filename}.tmp{os.getpid()}'
        tmp_path = self.file_backend.join_path(self.out_dir, tmp_filename)
        try:
            runner.save_checkpoint(
                self.out_dir,
                tmp_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
            if not is_main_process():  # Runner.save_checkpoint writes on rank 0 only
                return
            replace_atomically(tmp_path, self.last_ckpt)
        finally:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
        write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)

        if outdated is not None and outdated != step:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)
