# Toy counterpart of FCOS-OWP Table 1, OWP row "centerness": the OWP recipe (frozen classifier,
# class-agnostic proposals scored by centerness) on the generated dataset.
# Base of the other OWP toy configs.
_base_ = '../_base_/toy_base.py'

model = dict(
    bbox_head=dict(
        type='OWPFCOSHead',
        centerness_on_reg=True,
        center_sampling=False,
        objectness=('centerness', ),
        conditional=False,
        objectness_sampling='center',
        iou_sampling_thr=None,
        score_mode='centerness',
        train_cls=False,
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
# class-agnostic proposals (one "object" label): base AP is N/A, as in Table 1
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
