"""The map's data: /encodings?format=binary (server/map_points.py), /encodings/atlas.png, and the
training split's originals. Synthetic data: 100 test and 600 training images."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from model.data import SPLITS, load_split
from server.map_points import unpack
from tests.server.test_explore import make_client, save_tiny


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    save_tiny(folder, "tiny-z3", 3, "mnist")
    save_tiny(folder, "tiny-z2", 2, "mnist")
    return folder


@pytest.fixture(scope="module")
def test_only_root(tmp_path_factory: pytest.TempPathFactory, synthetic_data_dir: Path) -> Path:
    """mnist/ with the test split's files only."""
    root = tmp_path_factory.mktemp("test-only")
    (root / "mnist").mkdir()
    for stem in SPLITS["test"]:
        for found in synthetic_data_dir.glob(f"{stem}*"):
            (root / "mnist" / found.name).symlink_to(found)
    return root


@pytest.fixture
def client(weights: Path, synthetic_data_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    root = tmp_path / "data"
    root.mkdir()
    (root / "mnist").symlink_to(synthetic_data_dir, target_is_directory=True)
    with make_client(weights, root, tmp_path / "cache") as c:
        yield c


def binary(client: TestClient, model: str = "tiny-z3", **headers: str) -> tuple[dict, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    r = client.get("/encodings", params={"model": model, "format": "binary"}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    return unpack(r.content)


def test_binary_holds_the_test_split_then_the_training_split(
    client: TestClient, synthetic_data_dir: Path
) -> None:
    header, means, labels = binary(client)
    assert header["splits"] == [{"name": "test", "count": 100}, {"name": "train", "count": 600}]
    assert means.shape == (700, 3) and header["latent_dim"] == 3 and header["class_names"][3] == "3"
    test, train = (load_split(synthetic_data_dir, s).labels for s in ("test", "train"))
    np.testing.assert_array_equal(labels, np.concatenate([test, train]))


def test_binary_means_are_exactly_the_json_means(client: TestClient) -> None:
    header, means, _ = binary(client)
    body = client.get("/encodings", params={"model": "tiny-z3"}).json()
    np.testing.assert_array_equal(means[:100], np.array(body["means"], dtype=np.float16))
    np.testing.assert_allclose(header["pca"]["components"], body["pca"]["components"], atol=1e-6)


def test_binary_without_the_training_split_holds_the_test_split(
    weights: Path, test_only_root: Path, tmp_path: Path
) -> None:
    with make_client(weights, test_only_root, tmp_path) as c:
        header, means, _ = binary(c, "tiny-z2")
    assert header["splits"] == [{"name": "test", "count": 100}] and means.shape == (100, 2)
    assert header["pca"] is None


def test_binary_is_gzipped_and_answers_304_to_its_etag(client: TestClient) -> None:
    r = client.get("/encodings", params={"model": "tiny-z3", "format": "binary"})
    assert r.headers["content-encoding"] == "gzip" and r.num_bytes_downloaded < len(r.content)
    again = client.get("/encodings", params={"model": "tiny-z3", "format": "binary"},
                       headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    json_etag = client.get("/encodings", params={"model": "tiny-z3"}).headers["etag"]
    assert json_etag != r.headers["etag"]


def tiles(png: bytes, n: int) -> list[np.ndarray]:
    img = np.array(Image.open(io.BytesIO(png)))
    return [img[(k // 16) * 28 : (k // 16) * 28 + 28, (k % 16) * 28 : (k % 16) * 28 + 28] for k in range(n)]


def test_atlas_of_originals_tiles_the_asked_images_in_order(
    client: TestClient, synthetic_data_dir: Path
) -> None:
    wanted = [599, 0, 17] + list(range(20, 40))
    r = client.get("/encodings/atlas.png", params={"model": "tiny-z3", "split": "train",
                                                   "indices": ",".join(map(str, wanted))})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.headers["etag"]
    images = load_split(synthetic_data_dir, "train").images
    for k, tile in enumerate(tiles(r.content, len(wanted))):
        np.testing.assert_array_equal(tile, images[wanted[k]])


def test_atlas_of_decoded_means_matches_decode(client: TestClient) -> None:
    _, means, _ = binary(client)
    r = client.get("/encodings/atlas.png", params={"model": "tiny-z3", "indices": "5,9", "kind": "decoded"})
    for k, tile in zip((5, 9), tiles(r.content, 2), strict=True):
        z = ",".join(map(str, means[k].astype(float)))  # float16's exact values
        one = client.get("/decode", params={"model": "tiny-z3", "z": z})
        np.testing.assert_array_equal(tile, np.array(Image.open(io.BytesIO(one.content))))


def test_atlas_refuses_too_many_or_malformed_indices(client: TestClient) -> None:
    r = client.get("/encodings/atlas.png", params={"indices": ",".join(["1"] * 257)})
    assert r.status_code == 422 and "1 to 256" in r.json()["detail"]
    assert client.get("/encodings/atlas.png", params={"indices": "1,-2"}).status_code == 422


def test_atlas_past_the_end_of_the_split_is_404(client: TestClient) -> None:
    r = client.get("/encodings/atlas.png", params={"indices": "3,100", "kind": "decoded"})
    assert r.status_code == 404
    assert r.json()["detail"] == "index 100 is out of range: the test set has 100 images, 0..99"


def test_original_png_of_the_training_split(client: TestClient, synthetic_data_dir: Path) -> None:
    r = client.get("/encodings/599/original.png", params={"model": "tiny-z3", "split": "train"})
    img = np.array(Image.open(io.BytesIO(r.content)))
    np.testing.assert_array_equal(img, load_split(synthetic_data_dir, "train").images[599])


def test_cli_writes_the_training_split_with_train(
    weights: Path, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    from model.encodings.__main__ import main as encodings_cli

    root = tmp_path / "data"
    root.mkdir()
    (root / "mnist").symlink_to(synthetic_data_dir, target_is_directory=True)
    args = ["tiny-z2", "--train", "--weights-dir", str(weights), "--data-dir", str(root)]
    assert encodings_cli([*args, "--cache-dir", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert written == ["tiny-z2.encodings.npz", "tiny-z2.train.encodings.npz"]
