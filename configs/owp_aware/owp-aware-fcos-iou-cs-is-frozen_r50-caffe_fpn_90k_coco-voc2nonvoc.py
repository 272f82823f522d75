# FCOS-OWP Table 3, row "frozen": as finetune, but the localisation branches (regression tower,
# conv_reg, scales, IoU branch) are frozen completely: no gradient, no optimizer state, also on
# resume.
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
        train_cls=True))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
# start from the OWP IOU-CS-IS checkpoint (../owp/); the localisation branches (regression
# tower, conv_reg, scales, IoU branch) frozen completely, classification at lr 0.01
load_from = 'work_dirs/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(
        frozen_keys=['bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.scales',
                     'bbox_head.conv_iou'],
        custom_keys={
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        }))
# parameters are frozen after DDP wraps the model: DDP must tolerate parameters without grads
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
