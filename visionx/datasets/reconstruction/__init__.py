"""Surface-reconstruction data: Occupancy-Networks ShapeNet, Synthetic Rooms, GridFormer transforms and
the synthetic-shapes demo generator."""
from .boundary import boundary_mask
from .shapenet import ShapeNetDataset, ShapeNetOccupancyDataset, SyntheticRoomsDataset
from .transforms import (BoundaryPointsFilter, PackOccupancyInputs, PointcloudNoise, SubsamplePointcloud,
                         SubsamplePoints)

__all__ = [
    'boundary_mask', 'ShapeNetDataset', 'ShapeNetOccupancyDataset', 'SyntheticRoomsDataset', 'BoundaryPointsFilter',
    'PackOccupancyInputs', 'PointcloudNoise', 'SubsamplePointcloud', 'SubsamplePoints'
]
