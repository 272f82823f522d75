"""Pictures of open-world runs: objectness heatmaps, objectness score histograms, AR vs
number of proposals, known/unknown detections (a ``DetLocalVisualizer``), a run report."""
from .inference import load_model_and_data, pick_indices, predict
from .objectness_maps import head_maps, merge_levels, plot_objectness_maps
from .open_world_visualizer import OpenWorldDetLocalVisualizer, configure_visualizer

__all__ = ['load_model_and_data', 'pick_indices', 'predict', 'head_maps', 'merge_levels',
           'plot_objectness_maps', 'OpenWorldDetLocalVisualizer',
           'configure_visualizer']
