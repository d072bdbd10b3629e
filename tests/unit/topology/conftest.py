"""Fixtures shared by the topology tests."""

from __future__ import annotations

import pytest

from tests.unit.topology.support import SMALL_EDGES, build
from topology import Topology


@pytest.fixture
def small() -> Topology:
    """The graph drawn in ``support.SMALL_EDGES``."""
    return build(SMALL_EDGES)
