"""Data structures (VisionX reuses mmseg's ``SegDataSample`` for 2D/3D dense prediction)."""
