# The policy-gradient detector (Rao et al., CVPR 2018) Table 1, row "Faster R-CNN with FPN, ours
# (gamma = 1)", applied to the OWP-aware head of FCOS-OWP Table 1 row "logits * IOU-CS-IS (joint)":
# fine-tune the converged joint model with the policy-gradient loss (Rao et al. §3.3, Eq. 9-11) in
# place of the focal loss; candidates ranked by cls * IoU (the head's score_mode), k = 10, gamma =
# 1. Schedule: Rao et al. §4's 22.5k iterations at lr 0.001, step at 15k, after a 160k baseline,
# scaled to the 90k schedule: 22.5k * 90/160 = 12,656 iterations, step at 15k * 90/160 = 8,438.
_base_ = '../owp_aware/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

load_from = 'work_dirs/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
model = dict(
    bbox_head=dict(
        type='PGOWPFCOSHead',
        replace_loss_cls=True,
        loss_pg=dict(
            type='PolicyGradientLoss',
            num_samples=10,
            gamma=1.0,
            num_candidates=512,
            max_dets=100,
            nms_cfg=dict(type='nms', iou_threshold=0.5))))

train_cfg = dict(max_iters=12656, val_interval=12656)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=12656, by_epoch=False, milestones=[8438], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.001))
