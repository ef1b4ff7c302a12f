# GridFormer for scene-level data: a volume 64^3 point-grid U-Net (10.22 M parameters) instead of the three
# planes; decoder, loss and meshing as gridformer_3plane.py.  (room_grid_attention_encoder)
_base_ = ['./gridformer_3plane.py']
model = dict(encoder=dict(plane_type=('grid',), resolution=64, c_dim=32, hidden_dim=32))
