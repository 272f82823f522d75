# Toy counterpart of ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS": the toy FCOS with the
# paper's improvements (centerness on regression, GIoU, stride-normalised targets), positives
# from the (toy, /2) regress ranges, no center sampling: its family
# (configs/_base_/families/fcos-imprv_owd-shapes.py) unchanged.
_base_ = '../_base_/families/fcos-imprv_owd-shapes.py'
