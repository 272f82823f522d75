# OWP FCOS on R50-FPN (FCOS-OWP §3.2, Figure 1, OWP recipe of §4): mmdet FCOS R50-FPN GN-head
# with the OWPFCOSHead, 20 classes (the VOC base classes of COCO VOC->non-VOC).
# OWP recipe: classifier frozen (train_cls=False: no loss, no gradient, no weight decay on
# cls_convs/conv_cls), objectness branches on the regression tower (centerness_on_reg), and
# class-agnostic proposals scored by objectness only. Rows of Table 1 override the head.
# Inference as FCOS-OWP §3.1: "The top 2000 proposals whose scores are above some defined
# threshold are passed to Non Maximum Suppression (NMS). Post NMS, ... the top 100 proposals are
# used for the COCO dataset and the top 300 are used for the LVIS dataset": nms_pre=2000 over all
# FPN levels of the image (nms_pre_scope='image'; mmdet keeps 2000 per level, up to 10,000),
# max_per_img=100 (the LVIS configs set 300). The stock-FCOS baselines and the ATSS (Zhang et
# al., CVPR 2020) configs keep mmdet's per-level nms_pre (FCOSHead has no nms_pre_scope).
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
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=2000, nms_pre_scope='image', max_per_img=100))
