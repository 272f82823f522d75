# OWP FCOS on R50-FPN (seed 000 §3.2, Figure 1, OWP recipe of §4): mmdet FCOS R50-FPN GN-head
# with the OWPFCOSHead, 20 classes (the VOC base classes of COCO VOC->non-VOC).
# OWP recipe: classifier frozen (train_cls=False: no loss, no gradient, no weight decay on
# cls_convs/conv_cls), objectness branches on the regression tower (centerness_on_reg), and
# class-agnostic proposals scored by objectness only. Rows of Table 1 override the head.
_base_ = './fcos_r50_fpn.py'

model = dict(
    bbox_head=dict(
        type='OWPFCOSHead',
        num_classes=20,
        centerness_on_reg=True,
        center_sampling=False,
        center_sample_radius=1.5,
        objectness=('centerness', ),
        conditional=False,
        objectness_sampling='center',
        iou_sampling_thr=None,
        score_mode='centerness',
        train_cls=False,
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
