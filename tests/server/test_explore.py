"""/encodings, /encodings/{index}/original.png (server/routes/explore.py) and the cache behind them.

Tiny random models in a tmp weights folder, synthetic IDX data laid out as <data_dir>/mnist/.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from model import store
from model.card import ModelCard
from model.data import load_split
from model.encodings import EncodingCache, cache_path
from model.encodings import cache as encodings_cache
from model.encodings import load as load_encodings
from model.encodings.__main__ import main as encodings_cli
from model.vae import VAE, VAEConfig
from server.app import create_app
from server.settings import Settings

MODELS = {"tiny-z2": (2, "mnist"), "tiny-z3": (3, "mnist"), "tiny-fashion": (2, "fashion-mnist")}


def save_tiny(folder: Path, name: str, latent_dim: int, dataset: str, seed: int = 0) -> ModelCard:
    torch.manual_seed(seed)
    vae = VAE(VAEConfig(latent_dim=latent_dim, arch="mlp", hidden=(16,)))
    return store.save(vae, folder / name, {"dataset": dataset})


def loaded(folder: Path, name: str) -> tuple[VAE, ModelCard]:
    return store.load(name, folder=folder), store.read_card(name, folder)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    for name, (dim, dataset) in MODELS.items():
        save_tiny(folder, name, dim, dataset)
    return folder


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory, synthetic_data_dir: Path) -> Path:
    """mnist/ only: Fashion-MNIST is 'missing'."""
    root = tmp_path_factory.mktemp("data")
    (root / "mnist").symlink_to(synthetic_data_dir, target_is_directory=True)
    return root


def make_client(weights: Path, data_dir: Path, cache_dir: Path) -> TestClient:
    settings = Settings(weights_dir=weights, data_dir=data_dir, cache_dir=cache_dir, default_model="tiny-z2")
    return TestClient(create_app(settings))


@pytest.fixture
def client(weights: Path, data_root: Path, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(weights, data_root, tmp_path / "cache") as c:
        yield c


def test_encodings_json_has_one_labelled_mean_per_test_image(
    client: TestClient, synthetic_data_dir: Path
) -> None:
    r = client.get("/encodings", params={"model": "tiny-z2"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    labels = load_split(synthetic_data_dir, "test").labels
    assert (body["model"], body["dataset"], body["latent_dim"], body["count"]) == ("tiny-z2", "mnist", 2, 100)
    assert body["class_names"] == [str(d) for d in range(10)]
    assert body["labels"] == labels.tolist()
    assert np.array(body["means"]).shape == (100, 2)
    assert body["pca"] is None


def test_encodings_json_projects_higher_latent_dims_onto_a_pca_plane(client: TestClient) -> None:
    body = client.get("/encodings", params={"model": "tiny-z3"}).json()
    pca = body["pca"]
    comps, mean, points = np.array(pca["components"]), np.array(pca["mean"]), np.array(pca["points"])
    assert comps.shape == (2, 3) and mean.shape == (3,) and points.shape == (100, 2)
    assert len(pca["explained_variance_ratio"]) == 2
    np.testing.assert_allclose((np.array(body["means"]) - mean) @ comps.T, points, atol=2e-3, rtol=2e-3)


def test_encodings_csv_has_a_header_and_one_row_per_test_image(client: TestClient) -> None:
    r = client.get("/encodings", params={"model": "tiny-z3", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="tiny-z3-encodings.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["index", "label", "class_name", "z0", "z1", "z2"]
    assert len(rows) == 101 and rows[1][0] == "0" and rows[1][1] == rows[1][2]
    json_means = client.get("/encodings", params={"model": "tiny-z3"}).json()["means"]
    assert [float(v) for v in rows[-1][3:]] == json_means[-1]


def test_encodings_rejects_an_unknown_format(client: TestClient) -> None:
    r = client.get("/encodings", params={"format": "xml"})
    assert r.status_code == 422
    assert "'json', 'csv' or 'binary'" in str(r.json()["detail"])


def test_encodings_answer_304_when_the_etag_matches(client: TestClient) -> None:
    r = client.get("/encodings", params={"model": "tiny-z2"})
    assert r.headers["cache-control"] == "public, max-age=3600" and r.headers["etag"]
    etag = {"If-None-Match": r.headers["etag"]}
    again = client.get("/encodings", params={"model": "tiny-z2"}, headers=etag)
    assert again.status_code == 304 and again.content == b""
    csv_etag = client.get("/encodings", params={"model": "tiny-z2", "format": "csv"}).headers["etag"]
    assert csv_etag != r.headers["etag"]


def test_encodings_without_data_or_cache_say_where_to_put_the_data(
    client: TestClient, data_root: Path
) -> None:
    r = client.get("/encodings", params={"model": "tiny-fashion"})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert detail.startswith("no encodings for tiny-fashion: the Fashion-MNIST test set was not found")
    where = str(data_root / "fashion-mnist")
    for needle in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", where, "VAE_DATA_DIR"):
        assert needle in detail


def test_encodings_of_an_unknown_model_is_404(client: TestClient) -> None:
    r = client.get("/encodings", params={"model": "nope"})
    assert r.status_code == 404 and "tiny-z2" in r.json()["detail"]


def test_original_png_is_the_test_image(client: TestClient, synthetic_data_dir: Path) -> None:
    r = client.get("/encodings/7/original.png", params={"model": "tiny-z3"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (28, 28)
    np.testing.assert_array_equal(np.array(img), load_split(synthetic_data_dir, "test").images[7])


def test_original_png_past_the_end_is_404(client: TestClient) -> None:
    r = client.get("/encodings/100/original.png")
    assert r.status_code == 404 and r.json()["detail"] == (
        "index 100 is out of range: the test set has 100 images, 0..99"
    )


def test_original_png_without_data_is_404(client: TestClient) -> None:
    r = client.get("/encodings/0/original.png", params={"model": "tiny-fashion"})
    assert r.status_code == 404 and "no original images for tiny-fashion" in r.json()["detail"]


def test_first_request_writes_the_cache_file_to_the_cache_dir(
    client: TestClient, weights: Path, tmp_path: Path
) -> None:
    client.get("/encodings", params={"model": "tiny-z3"})
    enc = load_encodings(cache_path(tmp_path / "cache", "tiny-z3"))
    assert enc.count == 100 and enc.checksum == store.read_card("tiny-z3", weights).sha256
    assert not list(weights.glob("*.npz"))


def test_cached_encodings_are_served_without_the_data(weights: Path, data_root: Path, tmp_path: Path) -> None:
    with make_client(weights, data_root, tmp_path) as c:
        first = c.get("/encodings", params={"model": "tiny-z2"}).json()
    with make_client(weights, tmp_path / "no-data", tmp_path) as c:
        r = c.get("/encodings", params={"model": "tiny-z2"})
    assert r.status_code == 200 and r.json() == first


def test_stale_cache_is_recomputed_when_the_checksum_changes(data_root: Path, tmp_path: Path) -> None:
    cache = EncodingCache(cache_dir=tmp_path, data_dir=data_root)
    save_tiny(tmp_path, "m", 2, "mnist", seed=1)
    old = cache.get(*loaded(tmp_path, "m")).encodings
    card = save_tiny(tmp_path, "m", 2, "mnist", seed=2)
    fresh = EncodingCache(cache_dir=tmp_path, data_dir=data_root)  # a restarted server
    new = fresh.get(*loaded(tmp_path, "m")).encodings
    assert new.checksum == card.sha256 != old.checksum
    assert not np.array_equal(new.means, old.means)
    assert load_encodings(cache_path(tmp_path, "m")).checksum == card.sha256


def test_unreadable_cache_file_is_recomputed(data_root: Path, tmp_path: Path) -> None:
    save_tiny(tmp_path, "m", 2, "mnist")
    cache_path(tmp_path, "m").write_bytes(b"not an npz")
    cache = EncodingCache(cache_dir=tmp_path, data_dir=data_root)
    enc = cache.get(*loaded(tmp_path, "m")).encodings
    assert enc.count == 100 and load_encodings(cache_path(tmp_path, "m")).count == 100


def test_concurrent_first_requests_compute_once(
    weights: Path, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = encodings_cache.encode_split

    def slow_encode(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(encodings_cache, "encode_split", slow_encode)
    cache = EncodingCache(cache_dir=tmp_path, data_dir=data_root)
    model = loaded(weights, "tiny-z2")
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(*model))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 4 and all(r is results[0] for r in results)


def test_cli_writes_the_cache_of_each_named_model(weights: Path, data_root: Path, tmp_path: Path) -> None:
    args = ["tiny-z2", "tiny-z3", "--weights-dir", str(weights), "--data-dir", str(data_root)]
    assert encodings_cli([*args, "--cache-dir", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert written == ["tiny-z2.encodings.npz", "tiny-z3.encodings.npz"]


def test_cli_fails_when_a_model_has_no_data(
    weights: Path, data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--weights-dir", str(weights), "--data-dir", str(data_root), "--cache-dir", str(tmp_path)]
    assert encodings_cli(["--all", *args]) == 1
    assert "no encodings for tiny-fashion" in capsys.readouterr().err


def test_real_mnist_test_set_gives_10000_encodings(
    weights: Path, tmp_path: Path, real_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAE_DATA_DIR", str(real_data))
    cache = EncodingCache(cache_dir=tmp_path, data_dir=None)  # None: $VAE_DATA_DIR, as the server reads it
    enc = cache.get(*loaded(weights, "tiny-z2")).encodings
    assert enc.count == 10_000 and np.bincount(enc.labels).tolist()[:2] == [980, 1135]


@pytest.mark.parametrize("accept", ["gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.5", "*"])
def test_encodings_are_gzipped_for_a_client_that_accepts_it(client: TestClient, accept: str) -> None:
    plain = client.get("/encodings", params={"model": "tiny-z3"}, headers={"Accept-Encoding": "identity"})
    packed = client.get("/encodings", params={"model": "tiny-z3"}, headers={"Accept-Encoding": accept})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["etag"] != plain.headers["etag"]  # two representations
    assert packed.content == plain.content  # httpx undoes the gzip
    assert int(packed.headers["content-length"]) < len(plain.content) / 2


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "*;q=0", "br"])
def test_encodings_are_not_gzipped_for_a_client_that_does_not_accept_it(
    client: TestClient, accept: str
) -> None:
    r = client.get("/encodings", params={"model": "tiny-z3"}, headers={"Accept-Encoding": accept})
    assert r.status_code == 200 and "content-encoding" not in r.headers
