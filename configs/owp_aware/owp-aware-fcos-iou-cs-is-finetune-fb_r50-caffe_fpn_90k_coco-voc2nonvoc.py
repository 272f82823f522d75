# FCOS-OWP Table 3, row "finetune fb": the finetune recipe (from the OWP IOU-CS-IS checkpoint,
# regression + objectness branches at lr 0.001, classification at 0.01) with the (OWP-trained)
# backbone frozen. "fb" = frozen backbone (Appendix A) = "a ResNet [18] Feature Pyramid Network
# (FPN) backbone" (§3.1): ResNet (backbone.) and FPN (neck.) get no gradient and no optimizer
# state, the ResNet's BN layers stay in eval mode (frozen_stages=4, norm_eval=True). Only the
# slowed localisation branches can move the proposals (the paper's non-VOC AR100 is a little
# below the frozen fb row's).
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
# start from the OWP IOU-CS-IS checkpoint (../owp/); regression + objectness branches at lr
# 0.001, classification at 0.01 (custom_keys override bias_lr_mult for these branches);
# backbone and neck keep the default lr 0.01
load_from = 'work_dirs/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(
        frozen_keys=['backbone.', 'neck.'],
        custom_keys={
            'bbox_head.reg_convs': dict(lr_mult=0.1),
            'bbox_head.conv_reg': dict(lr_mult=0.1),
            'bbox_head.scales': dict(lr_mult=0.1),
            'bbox_head.conv_iou': dict(lr_mult=0.1),
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        }))
# parameters are frozen after DDP wraps the model: DDP must tolerate parameters without grads
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
