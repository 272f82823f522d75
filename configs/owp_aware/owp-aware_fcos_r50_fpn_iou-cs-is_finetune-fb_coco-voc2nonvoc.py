# FCOS-OWP Table 3, row "finetune fb": the finetune recipe (from the OWP IOU-CS-IS checkpoint,
# regression + objectness branches at lr 0.001, classification at 0.01) with the (OWP-trained)
# backbone frozen. "fb" = frozen backbone (Appendix A) = "a ResNet [18] Feature Pyramid Network
# (FPN) backbone" (§3.1): ResNet (backbone.) and FPN (neck.) get no gradient and no optimizer
# state, the ResNet's BN layers stay in eval mode (frozen_stages=4, norm_eval=True). Only the
# slowed localisation branches can move the proposals (the paper's non-VOC AR100 is a little
# below the frozen fb row's).
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_finetune_coco-voc2nonvoc.py'

model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
