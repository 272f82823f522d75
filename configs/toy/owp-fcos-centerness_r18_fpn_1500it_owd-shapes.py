# Toy counterpart of FCOS-OWP Table 1, OWP row "centerness": the OWP recipe (frozen classifier,
# class-agnostic proposals scored by centerness) on the generated dataset: its family
# (configs/_base_/families/owp-fcos_owd-shapes.py) unchanged.
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'
