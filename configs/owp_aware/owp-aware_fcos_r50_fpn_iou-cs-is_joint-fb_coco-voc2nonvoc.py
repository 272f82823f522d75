# FCOS-OWP Table 3, row "joint fb": the joint recipe (§4: every branch at lr 0.01, from ImageNet)
# with the backbone frozen. "fb" = frozen backbone (Appendix A) = "a ResNet [18] Feature Pyramid
# Network (FPN) backbone" (§3.1): ResNet (backbone.) and FPN (neck.) get no gradient and no
# optimizer state, the ResNet's BN layers stay in eval mode (frozen_stages=4, norm_eval=True). Joint
# training does not start from an OWP checkpoint, so the ResNet is ImageNet's and the FPN keeps
# mmdet's initialisation; the paper does not state this row's starting point (its AP, far below
# every other Table 3 row, is at least consistent with an untrained frozen FPN).
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_joint_coco-voc2nonvoc.py'

model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
