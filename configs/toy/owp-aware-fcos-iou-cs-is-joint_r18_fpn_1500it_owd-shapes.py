# Toy counterpart of FCOS-OWP Table 1, OWP-Aware Classification row "logits * IOU-CS-IS (joint)"
# (= Table 3 "joint"): classifier trained with the IOU-CS-IS head, every branch at the toy's lr:
# its family (configs/_base_/families/owp-aware-joint_owd-shapes.py) unchanged.
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'
