# The policy-gradient detector (Rao et al., CVPR 2018) Table 1, row "Faster R-CNN with FPN, ours
# (gamma = 1)" (greedy NMS), applied to the FCOS of FCOS-OWP Table 1 row "Baseline logits *
# centerness": fine-tune the converged baseline with the policy-gradient loss (Rao et al. §3.3, Eq.
# 9-11) in place of the focal loss; k = 10 sampled detection sets, gamma = 1, per-image AP@[.5:.95].
# Schedule (Rao et al. §4): "additional 22.5k iteration training [...] on baseline object detection
# model with a learning rate of 0.001 which is decreased by 10 at the 15k iteration", after a
# 160k-iteration FPN baseline (batch 16, as here). Scaled proportionally to FCOS's 90k baseline
# schedule: 22.5k * 90/160 = 12,656 iterations, lr step at 15k * 90/160 = 8,438 (2/3 of the
# fine-tune, as in the paper); lr 0.001 and batch 16 unchanged, no warm-up.
_base_ = '../baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

load_from = 'work_dirs/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
model = dict(
    bbox_head=dict(
        type='PGFCOSHead',
        replace_loss_cls=True,
        loss_pg=dict(
            type='PolicyGradientLoss',
            num_samples=10,
            gamma=1.0,
            num_candidates=512,  # as the 512 RoIs per image of Rao et al. §4
            max_dets=100,
            nms_cfg=dict(type='nms', iou_threshold=0.5))))  # = test_cfg.nms

train_cfg = dict(max_iters=12656, val_interval=12656)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=12656, by_epoch=False, milestones=[8438], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.001))
