"""Scoring correlation quality against simulated ground truth.

``evaluate(truth, events)`` turns a storm's truth and a system's incident
events into :class:`Metrics` (grouping quality, compression, root-cause
accuracy, detection latency). ``baselines`` holds the simple groupers every
result is compared with, and ``report`` renders ``docs/quality.md``.
"""

from correlator.evaluate.baselines import BASELINES, run_baseline
from correlator.evaluate.incidents import final_incidents
from correlator.evaluate.metrics import Metrics, evaluate

__all__ = ["BASELINES", "Metrics", "evaluate", "final_incidents", "run_baseline"]
