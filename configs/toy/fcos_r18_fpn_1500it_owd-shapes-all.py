# "Oracle" of the open-world gap: the toy baseline (logits * centerness,
# ./fcos_r18_fpn_1500it_owd-shapes.py) trained with every object annotated, novel classes included
# (instances_train_all.json, 10 classes: dataset field "owd-shapes-all"). Its novel AR is what the
# baseline could reach if the novel objects were not background in training; the baseline's novel
# AR below it is the gap the FCOS-OWP methods try to close. Base AP is computed on the base classes
# as for the baseline; AR is class-agnostic.
_base_ = '../_base_/toy_base.py'

all_classes = ('circle', 'square', 'triangle', 'star', 'cross', 'hexagon', 'diamond',
               'ellipse', 'arrow', 'lshape')
model = dict(bbox_head=dict(num_classes=len(all_classes)))
train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train_all.json', known_classes=all_classes))
val_dataloader = dict(dataset=dict(known_classes=all_classes))
test_dataloader = val_dataloader
