# Toy counterpart of RbA (Nayal et al., ICCV 2023) Table 2, row "RbA" with OoD data (§3.4, Eq. 6,
# supplementary A.3): RbA fine-tuning of the toy OWP-aware joint model
# (./owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py) for 100 iterations with pasted
# novel shapes as outliers, evaluated as the RbA scoring config
# (./rba-score-owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py): its family
# (configs/_base_/families/rba-finetune_owd-shapes.py, which lists the toy deviations from the
# paper) unchanged.
_base_ = '../_base_/families/rba-finetune_owd-shapes.py'
