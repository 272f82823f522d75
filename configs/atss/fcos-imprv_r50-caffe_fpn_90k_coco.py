# ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS" (COCO minival): FCOS R50-FPN with the
# improvements the paper counts in (centerness on the regression branch, GIoU loss, regression
# targets normalised by the stride), positives from mmdet's rule (inside the box + per-level
# regress ranges), no center sampling. 80 COCO classes, 800x1333, 90k iterations, batch 16.
# The head is ATSSFCOSHead (FCOSHead + AssignerMixin): without train_cfg.assigner it *is*
# FCOSHead, so the three Table 3 rows differ only in how positives are chosen.
_base_ = '../_base_/families/fcos-imprv_coco.py'
