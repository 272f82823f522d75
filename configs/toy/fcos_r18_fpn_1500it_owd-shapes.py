# The toy counterpart of FCOS-OWP Table 1, row "Baseline": mmdet's FCOS (cls * centerness
# scoring) with the toy model and recipe (configs/_base_/toy_base.py) on the generated
# open-world dataset. Measured (seed 0, one CPU thread, ~4 CPU minutes): base AP 64, base AR100
# 74, novel AR100 50; README toy section for seeds and error bars.
_base_ = '../_base_/toy_base.py'
