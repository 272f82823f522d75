# Foundation check: stock mmdet FCOS (cls * centerness scoring) trained on the generated
# open-world dataset; the toy counterpart of seed 000 Table 1, row "Baseline".
_base_ = '../_base_/toy_base.py'
