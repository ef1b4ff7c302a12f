# A DynUNet small enough for the CPU demos: 5 levels (filters 8-64) and 3 deep-supervision heads; inputs
# padded to a multiple of 16 (the total down-sampling).
_base_ = ['./dynunet_deep-supervision.py']
model = dict(data_preprocessor=dict(size_divisor=16),
             network=dict(num_levels=5, filters=[8, 16, 32, 64, 64], deep_supr_num=3))
