# The toy counterpart of FCOS-OWP Table 1, row "Baseline": mmdet's FCOS (cls * centerness
# scoring) with the toy model and recipe (configs/_base_/toy_base.py) on the generated
# open-world dataset. Measured (3 seeds, one CPU thread each, ~3.9 CPU minutes a run): base AP
# 53.9, base AR100 71.8, novel AR100 51.6; README toy section for the error bars.
_base_ = '../_base_/toy_base.py'
