# FCOS-OWP Table 4, row "areas 0k": Unknown Area Masking (Appendix A) from iteration 0: the
# predicted box (l, r, t, b) of each background location with IoU > 0.95 masks every location inside
# it (threshold and joint recipe assumed from Table 2 "joint+unknown"; the paper does not state them
# for Table 4).
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_joint-unknown-thr095-5k_lvis-base2novel.py'

model = dict(bbox_head=dict(loss_cls=dict(mode='area', start_iter=0)))
