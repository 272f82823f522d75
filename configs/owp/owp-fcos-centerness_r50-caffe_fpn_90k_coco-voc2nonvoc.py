# FCOS-OWP Table 1, OWP row "centerness": class-agnostic FCOS scored by its centerness branch
# (frozen classifier), trained on the 20 VOC classes of COCO, AR on the 60 non-VOC classes.
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

# the head of ../_base_/models/owp_fcos_r50_fpn.py: centerness objectness, score_mode centerness
# class-agnostic proposals (one "object" label): base AP is N/A, as in Table 1
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
