"""Visualisers of VisionX predictions (registered in ``visionx.registry.VISUALIZERS``).

* :class:`MeshVisualizer` - GridFormer meshes: shaded rendering plus the mesh file;
* :class:`VolumeVisualizer` - 3-D segmentations (TraCoCo): mid-slice overlays in three planes;
* :class:`TopologyErrorVisualizer` - binary 2-D segmentations (TopoMortar): pixel and topology errors.

2-D segmentations without topology evaluation (BASNet, mmseg models) use mmseg's ``SegLocalVisualizer``.
All of them save through :class:`AtomicLocalVisBackend` (``VISBACKENDS``), MMEngine's local backend with
atomic image writes.
"""
from .mesh_visualizer import MeshVisualizer, render_mesh, save_mesh
from .topology_visualizer import TopologyErrorVisualizer, draw_topology_errors, topology_error_map
from .vis_backend import AtomicLocalVisBackend
from .volume_visualizer import VolumeVisualizer, draw_volume

__all__ = ['AtomicLocalVisBackend', 'MeshVisualizer', 'VolumeVisualizer', 'TopologyErrorVisualizer', 'render_mesh', 'save_mesh',
           'draw_volume', 'draw_topology_errors', 'topology_error_map']
