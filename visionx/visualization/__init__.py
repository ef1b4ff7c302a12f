"""Visualizers (VisionX uses mmseg's ``SegLocalVisualizer`` for 2D segmentation)."""
