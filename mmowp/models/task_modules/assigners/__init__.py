from .point_atss_assigner import PointATSSAssigner

__all__ = ['PointATSSAssigner']
