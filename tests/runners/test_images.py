"""The locally built base image (built once, ~1 min, if the engine lacks it)."""

from __future__ import annotations

import pytest

from runners.images import base_image_tag, build_images, ensure_base_image

pytestmark = pytest.mark.docker


def test_base_image_has_python_and_pytest(docker_client) -> None:
    tag = ensure_base_image(docker_client)

    output = docker_client.containers.run(tag, ["python3", "-m", "pytest", "--version"], remove=True,
                                          network_mode="none", stderr=True)

    assert tag == base_image_tag()
    assert b"pytest" in output


def test_build_images_returns_the_tags(docker_client) -> None:
    assert build_images(docker_client) == [base_image_tag()]
