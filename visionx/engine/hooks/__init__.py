"""Hooks."""
from .bacs_replay import BACSReplayHook
from .param_sync import ParamSyncCheckHook, state_dict_digest
from .predictions import PredictionVisualizationHook, PredictionWriterHook
from .rng_state import RNGStateHook
from .topology import TopologyLossScheduleHook  # noqa: F401

__all__ = ['BACSReplayHook', 'ParamSyncCheckHook', 'RNGStateHook', 'state_dict_digest', 'PredictionWriterHook',
           'PredictionVisualizationHook']
