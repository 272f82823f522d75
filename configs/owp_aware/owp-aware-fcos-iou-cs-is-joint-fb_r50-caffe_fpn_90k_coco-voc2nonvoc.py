# FCOS-OWP Table 3, row "joint fb": the joint recipe (§4: every branch at lr 0.01, from ImageNet)
# with the backbone frozen. "fb" = frozen backbone (Appendix A) = "a ResNet [18] Feature Pyramid
# Network (FPN) backbone" (§3.1): ResNet (backbone.) and FPN (neck.) get no gradient and no
# optimizer state, the ResNet's BN layers stay in eval mode (frozen_stages=4, norm_eval=True). Joint
# training does not start from an OWP checkpoint, so the ResNet is ImageNet's and the FPN keeps
# mmdet's initialisation; the paper does not state this row's starting point (its AP, far below
# every other Table 3 row, is at least consistent with an untrained frozen FPN).
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

# the IOU-CS-IS head (Table 1) with the classifier trained; proposals scored by cls * IoU
model = dict(
    bbox_head=dict(
        objectness=('iou', ),
        score_mode='cls*iou',
        center_sampling=True,
        iou_sampling_thr=0.3,
        train_cls=True),
    backbone=dict(frozen_stages=4, norm_eval=True))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.']))
# parameters are frozen after DDP wraps the model: DDP must tolerate parameters without grads
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
