# Family of the FCOS-OWP Figure 6 cells of the finetune recipe (configs/unknown_masking/):
# the finetune OWP-aware IOU-CS-IS model (§4: from the OWP IOU-CS-IS checkpoint, regression +
# objectness branches at lr 0.001, classification at 0.01) + Unknown Object Masking (§3.3,
# pixel mode) on the predicted IoU. Not a paper row: each cell sets the swept threshold
# (loss_cls.thr) and start iteration (loss_cls.start_iter).
_base_ = [
    '../models/owp_fcos_r50_fpn.py', '../datasets/coco_voc2nonvoc.py',
    '../schedules/schedule_90k.py', '../default_runtime.py'
]

# the IOU-CS-IS head (Table 1) with the classifier trained; proposals scored by cls * IoU
model = dict(
    bbox_head=dict(
        objectness=('iou', ),
        score_mode='cls*iou',
        center_sampling=True,
        iou_sampling_thr=0.3,
        train_cls=True,
        loss_cls=dict(
            _delete_=True,
            type='UnknownObjectMaskedLoss',
            use_sigmoid=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            mode='pixel')))
# start from the OWP IOU-CS-IS checkpoint (configs/owp/); regression + objectness branches at lr
# 0.001, classification at 0.01 (custom_keys override bias_lr_mult for these branches);
# backbone and neck keep the default lr 0.01
load_from = 'work_dirs/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'bbox_head.reg_convs': dict(lr_mult=0.1),
            'bbox_head.conv_reg': dict(lr_mult=0.1),
            'bbox_head.scales': dict(lr_mult=0.1),
            'bbox_head.conv_iou': dict(lr_mult=0.1),
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        }))
