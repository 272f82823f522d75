# Reference of the policy-gradient row (Rao et al., CVPR 2018, Table 1 "standard" vs "ours"):
# fine-tune the converged toy baseline (./fcos_r18_fpn_1500it_owd-shapes.py) with its own focal
# loss, for the schedule of the policy-gradient fine-tune (./pg-fcos_r18_fpn_211it_owd-shapes.py),
# so that the pair isolates the loss. Start, 211 iterations and lr are the family's
# (configs/_base_/families/fcos-finetune_owd-shapes.py).
_base_ = '../_base_/families/fcos-finetune_owd-shapes.py'
