# FCOS-OWP §5 "Implementation Details": batch 16 (8 GPUs x 2 images), SGD lr 0.01,
# momentum 0.9, weight decay 1e-4, 90k iterations, lr x0.1 at 60k and 80k.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=90000, by_epoch=False, milestones=[60000, 80000],
         gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))

# 8 GPUs x 2 images = 16; MMEngine rescales lr when auto_scale_lr.enable=True.
auto_scale_lr = dict(enable=False, base_batch_size=16)
