# Seed 000 Table 3, row "finetune fb" (COCO base AP 38.96, AR10 57.00, AR100 61.86; non-VOC AP
# 1.94, AR10 12.98, AR100 29.68): finetune recipe with the (OWP-trained) backbone frozen.
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_finetune_coco-voc2nonvoc.py'

model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor', paramwise_cfg=dict(frozen_keys=['backbone.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
