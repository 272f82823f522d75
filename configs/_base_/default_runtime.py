# Runtime shared by every mmowp config: mmdet's runtime + registration of mmowp.
# default_scope stays 'mmdet' (mmowp registers into mmdet's registries), so mmdet and
# mmowp types are named alike, without prefixes, and mmdet's configs can be inherited.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmowp'], allow_failed_imports=False)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
# AtomicCheckpointHook: CheckpointHook whose checkpoints are complete or absent, never
# truncated, so `tools/train.py --resume` always finds the last complete one. Child configs
# change its arguments, not its type.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=10000,
                    max_keep_ckpts=3))
# stop a diverging run (NaN/inf loss) at once, naming the iteration and the loss term;
# a config that sets its own custom_hooks must list these hooks again
# ClassAgnosticFromModelHook: the evaluators and the visualizer learn from the model's head
# whether its proposals are class-agnostic ("object"), so configs do not restate it
custom_hooks = [dict(type='CheckInvalidLossTermHook', interval=1),
                dict(type='ClassAgnosticFromModelHook')]
# known / novel / other proposals in different colours (tools/test.py --show-dir)
visualizer = dict(type='OpenWorldDetLocalVisualizer')
