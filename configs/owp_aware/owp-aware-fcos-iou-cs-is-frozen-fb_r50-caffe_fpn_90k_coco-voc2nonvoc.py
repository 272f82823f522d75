# FCOS-OWP Table 3, row "frozen fb": the frozen recipe with the (OWP-trained) backbone frozen as
# well. "fb" = frozen backbone (Appendix A), and FCOS-OWP §3.1 calls the backbone "a ResNet [18]
# Feature Pyramid Network (FPN) backbone": the ResNet (backbone.) and the FPN (neck.) are frozen,
# the ResNet's BN layers in eval mode (frozen_stages=4, norm_eval=True; the FPN has no norm layer
# and the head's GN no running statistics). With the localisation branches frozen too, the whole
# localisation path is the OWP IOU-CS-IS checkpoint's, so the class-agnostic proposals are that
# row's: the paper's non-VOC AR10/AR100 of this row are exactly Table 1's IOU-CS-IS row's.
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
# start from the OWP IOU-CS-IS checkpoint (../owp/); the localisation branches (regression
# tower, conv_reg, scales, IoU branch) frozen completely, classification at lr 0.01
load_from = 'work_dirs/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(
        frozen_keys=['backbone.', 'neck.', 'bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.scales',
                     'bbox_head.conv_iou'],
        custom_keys={
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        }))
# parameters are frozen after DDP wraps the model: DDP must tolerate parameters without grads
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
