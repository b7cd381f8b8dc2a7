"""Reading factors.csv, and the mutual information and MIG of latent codes against the factors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from model import factors, shapes
from model.factors import FactorsError, read_factors


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> factors.FactorTable:
    """The factors of 5,000 shapes, written as the generator writes them (no images needed)."""
    drawn = shapes.sample(5000, seed=0)
    out = tmp_path_factory.mktemp("factors")
    shapes.write_factors(out, drawn, shapes.file_names(drawn, 0, 6))
    return read_factors(out)


def copying_encoder(codes: np.ndarray, extra: int, seed: int) -> np.ndarray:
    """Each factor in a dimension of its own (shuffled, rescaled, a little noise), plus `extra`
    dimensions of pure noise."""
    rng = np.random.default_rng(seed)
    n, f = codes.shape
    signal = codes * rng.uniform(0.2, 3, size=f) + rng.normal(0, 0.01, size=(n, f))
    latents = np.concatenate([signal, rng.normal(size=(n, extra))], axis=1)
    return latents[:, rng.permutation(f + extra)]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_shapes_factors_read_back_as_their_grids(table: factors.FactorTable) -> None:
    assert table.names == ["shape", "hue", "scale", "rotation", "x", "y"]
    assert table.codes.shape == (5000, 6)
    levels = [len(labels) for labels in table.labels]
    assert levels == [3, 10, 6, 16, 16, 16]
    assert sorted(table.labels[0]) == sorted(shapes.SHAPES)
    assert [float(v) for v in table.labels[4]] == list(shapes.POSITIONS)


def test_codes_follow_the_order_of_numeric_values(table: factors.FactorTable) -> None:
    drawn = shapes.sample(5000, seed=0)
    x_code = table.codes[:, 4]
    assert np.array_equal(np.asarray(shapes.POSITIONS)[x_code], drawn.x)


def test_rows_looks_files_up_in_the_order_asked(table: factors.FactorTable) -> None:
    picked = [table.files[9], table.files[2]]
    assert np.array_equal(table.rows(picked), table.codes[[9, 2]])
    assert np.array_equal(table.rows([picked[0].replace("/", "\\")]), table.codes[[9]])
    with pytest.raises(FactorsError, match="no row for 1 file"):
        table.rows(["square/nope.png"])


def test_a_text_column_is_categorical_and_a_many_valued_number_is_binned(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = [f"img{i}.png,{['cat', 'dog'][i % 2]},{rng.normal():.6f},{i % 4}" for i in range(1000)]
    table = read_factors(write_csv(tmp_path / "factors.csv", "file,animal,light,pose\n" + "\n".join(lines)))
    assert table.labels[0] == ["cat", "dog"]
    assert table.labels[2] == ["0", "1", "2", "3"]  # few distinct numbers stay as they are
    counts = np.bincount(table.codes[:, 1])
    assert len(counts) == factors.BINS and counts.min() >= 45 and counts.max() <= 55  # equal-count bins


def test_a_folder_is_read_through_its_factors_csv(tmp_path: Path) -> None:
    write_csv(tmp_path / "factors.csv", "file,size\na\\1.png,2\nb/2.png,3\n")
    assert read_factors(tmp_path).files == ["a/1.png", "b/2.png"]


@pytest.mark.parametrize(("text", "message"), [
    ("name,size\na.png,1\n", "first column must be 'file'"),
    ("file\na.png\n", "first column must be 'file'"),
    ("file,size\na.png,1\nb.png\n", "lines \\[3\\]"),
    ("file,size\n", "has no rows"),
    ("file,size\na.png,1\na.png,2\n", "more than one row"),
])
def test_a_bad_factors_csv_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FactorsError, match=message):
        read_factors(write_csv(tmp_path / "factors.csv", text))


def test_a_missing_factors_csv_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FactorsError, match="factors.csv"):
        read_factors(tmp_path)


def test_mutual_information_of_a_variable_with_itself_is_its_entropy() -> None:
    codes = np.random.default_rng(0).integers(8, size=20000)
    assert factors.mutual_information(codes, codes) == pytest.approx(factors.entropy(codes))
    assert factors.entropy(codes) == pytest.approx(math.log(8), abs=0.01)


def test_mutual_information_of_independent_variables_is_near_zero() -> None:
    rng = np.random.default_rng(0)
    assert factors.mutual_information(rng.integers(20, size=20000), rng.integers(16, size=20000)) < 0.02


def test_the_matrix_is_dimensions_by_factors(table: factors.FactorTable) -> None:
    latents = np.random.default_rng(1).normal(size=(5000, 7))
    result = factors.measure(latents, table.codes, table.names)
    assert np.asarray(result["mutual_information"]).shape == (7, 6)
    assert len(result["entropy"]) == len(result["mig_per_factor"]) == len(result["best_dimension"]) == 6
    assert len(result["factor_of_dimension"]) == 7
    json.dumps(result, allow_nan=False)  # goes into the card as it is


def test_mig_is_about_one_for_an_encoder_that_copies_the_factors(table: factors.FactorTable) -> None:
    latents = copying_encoder(table.codes, extra=4, seed=0)
    result = factors.measure(latents, table.codes, table.names)
    assert result["mig"] > 0.95
    assert min(result["mig_per_factor"]) > 0.9
    carried = [name for name in result["factor_of_dimension"] if name is not None]
    assert sorted(carried) == sorted(table.names)  # each factor named once, the noise dimensions none
    for j, dim in enumerate(result["best_dimension"]):
        assert result["factor_of_dimension"][dim] == table.names[j]


def test_mig_is_about_zero_for_a_random_encoder(table: factors.FactorTable) -> None:
    latents = np.random.default_rng(2).normal(size=(5000, 10))
    result = factors.measure(latents, table.codes, table.names)
    assert result["mig"] < 0.03
    assert result["factor_of_dimension"] == [None] * 10


def test_mig_falls_when_two_factors_share_dimensions(table: factors.FactorTable) -> None:
    latents = copying_encoder(table.codes, extra=0, seed=0).astype(float)
    x, y = table.codes[:, 4].astype(float), table.codes[:, 5].astype(float)
    tangled = np.concatenate([latents, np.stack([x + y, x - y], axis=1)], axis=1)
    tangled = np.delete(tangled, [int(np.argmax([np.corrcoef(c, x)[0, 1] for c in latents.T])),
                                  int(np.argmax([np.corrcoef(c, y)[0, 1] for c in latents.T]))], axis=1)
    result = factors.measure(tangled, table.codes, table.names)
    assert max(result["mig_per_factor"][4:]) < 0.5  # x and y are spread over two dimensions each
    assert min(result["mig_per_factor"][:4]) > 0.9  # the others are still copied


def test_a_constant_factor_has_no_gap_and_is_left_out_of_the_mean() -> None:
    codes = np.stack([np.zeros(100, dtype=int), np.arange(100) % 4], axis=1)
    result = factors.measure(np.stack([codes[:, 1], np.ones(100)], axis=1).astype(float), codes, ["c", "k"])
    assert result["mig_per_factor"][0] is None and result["mig"] == pytest.approx(1.0, abs=0.01)
