# FCOS-OWP Table 4, row "areas 0k": Unknown Area Masking (Appendix A) from iteration 0: the
# predicted box (l, r, t, b) of each background location with IoU > 0.95 masks every location inside
# it (threshold and joint recipe assumed from Table 2 "joint+unknown"; the paper does not state them
# for Table 4).
_base_ = '../_base_/families/owp-aware-joint-unknown-area_lvis-base2novel.py'

model = dict(bbox_head=dict(loss_cls=dict(start_iter=0)))
