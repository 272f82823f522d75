# FCOS-OWP Table 3, row "frozen fb": the frozen recipe with the (OWP-trained) backbone frozen as
# well. "fb" = frozen backbone (Appendix A), and FCOS-OWP §3.1 calls the backbone "a ResNet [18]
# Feature Pyramid Network (FPN) backbone": the ResNet (backbone.) and the FPN (neck.) are frozen,
# the ResNet's BN layers in eval mode (frozen_stages=4, norm_eval=True; the FPN has no norm layer
# and the head's GN no running statistics). With the localisation branches frozen too, the whole
# localisation path is the OWP IOU-CS-IS checkpoint's, so the class-agnostic proposals are that
# row's: the paper's non-VOC AR10/AR100 of this row are exactly Table 1's IOU-CS-IS row's.
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_frozen_coco-voc2nonvoc.py'

model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
optim_wrapper = dict(
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.', 'bbox_head.reg_convs',
                                    'bbox_head.conv_reg', 'bbox_head.scales',
                                    'bbox_head.conv_iou']))
