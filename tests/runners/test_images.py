"""The locally built base image (built once, ~1 min, if the engine lacks it)."""

from __future__ import annotations

import pytest

from runners.images import base_image_tag, build_images, ensure_base_image, ensure_node_image, node_image_tag

pytestmark = pytest.mark.docker


def test_base_image_has_python_and_pytest(docker_client) -> None:
    tag = ensure_base_image(docker_client)

    output = docker_client.containers.run(tag, ["python3", "-m", "pytest", "--version"], remove=True,
                                          network_mode="none", stderr=True)

    assert tag == base_image_tag()
    assert b"pytest" in output


def test_node_image_has_node_npm_and_npx(docker_client) -> None:
    tag = ensure_node_image(docker_client)

    output = docker_client.containers.run(tag, ["sh", "-c", "node --version && npm --version && npx --version"],
                                          remove=True, network_mode="none", stderr=True)

    assert tag == node_image_tag() and tag.startswith("verdict-node:")
    assert output.decode().startswith("v18.")


def test_build_images_returns_the_tags(docker_client) -> None:
    assert build_images(docker_client) == [base_image_tag(), node_image_tag()]
