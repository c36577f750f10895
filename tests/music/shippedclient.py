"""The web app on the shipped model (nothing to train), without note samples: the
render routes' client shared by the render tests."""
from __future__ import annotations

import warnings

import pytest


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("fastapi")
    from abcrnn.resources import shipped_model
    from abcrnn.web.app import create_app
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx`")    # Starlette's, not ours
        from fastapi.testclient import TestClient
    return TestClient(create_app(shipped_model(), render_samples=False))
