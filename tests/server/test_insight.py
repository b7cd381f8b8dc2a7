"""The model-insight panel (server/insight.py and templates/partials/insight.html): what a card says
about training, and nothing where the card says nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from model.card import ModelCard
from server.insight import class_names, kl_bars, losses, training_curve

HISTORY = {"train": [230.0, 166.0, 150.0, 140.0], "test": [170.0, 160.0, 150.0, 145.0]}


def card(dataset: str | None = "mnist", **metrics: Any) -> ModelCard:
    return ModelCard(name="m", dataset=dataset, config={"latent_dim": 3}, metrics=metrics)


def test_kl_bars_mark_dimensions_under_the_threshold_inactive() -> None:
    bars = kl_bars(card(kl_per_dim=[2.0, 0.04, 1.0]))
    assert bars is not None
    assert [b.inactive for b in bars] == [False, True, False]
    assert [b.share for b in bars] == [1.0, 0.02, 0.5]


@pytest.mark.parametrize("kl", [None, [], "1,2", [1.0, None], [1.0, float("nan")], [True, False]])
def test_kl_bars_are_left_out_without_a_list_of_numbers(kl: Any) -> None:
    assert kl_bars(card(kl_per_dim=kl)) is None


def test_training_curve_has_one_point_per_epoch_for_each_split() -> None:
    curve = training_curve(card(history=HISTORY))
    assert curve is not None
    assert curve.epochs == 4 and curve.first == (230.0, 170.0) and curve.last == (140.0, 145.0)
    for points in (curve.train, curve.test):
        xy = [tuple(map(float, p.split(","))) for p in points.split()]
        assert len(xy) == 4 and xy[0][0] == 0 and xy[-1][0] == curve.width


def test_training_curve_range_starts_after_the_first_epoch() -> None:
    curve = training_curve(card(history=HISTORY))
    assert curve is not None
    assert curve.lo < 140 and 166 < curve.hi < 230  # epoch 1's 230 nats is drawn off the top
    first_train_y = float(curve.train.split()[0].split(",")[1])
    assert first_train_y < 0


@pytest.mark.parametrize(
    "history",
    [None, {"train": [], "test": []}, {"train": [1.0]}, {"train": [3.0, 2.0], "test": [3.0]}, [1, 2]],
)
def test_training_curve_is_left_out_without_two_matching_epochs(history: Any) -> None:
    assert training_curve(card(history=history)) is None


def test_losses_list_what_the_card_has_in_reading_order() -> None:
    found = losses(card(test_nll_iw=93.5, test_neg_elbo=96.4, test_kl=None, iw_samples=100))
    assert [(label, value) for label, value, _ in found] == [("−ELBO", 96.4), ("NLL", 93.5)]
    assert "100 samples" in found[1][2]


def test_class_names_follow_the_data_set() -> None:
    assert class_names(card("fashion-mnist"))[0] == "T-shirt/top"
    assert class_names(card("other")) == [] and class_names(card(None)) == []


def test_page_without_metrics_leaves_the_charts_out(client: TestClient) -> None:
    html = client.get("/", params={"model": "tiny-z2"}).text
    assert "Model insight" in html and "not measured" in html
    assert 'id="kl-bars"' not in html and 'id="training-curve"' not in html
    assert 'class="slider inactive"' not in html


def test_page_has_the_map_drawing_and_interpolation_panels(client: TestClient) -> None:
    html = client.get("/", params={"model": "tiny-z10"}).text
    for part in ('id="map-panel"', 'id="map-view"', 'id="draw"', 'id="interp-panel"', 'data-dim="10"',
                 'href="/encodings?model=tiny-z10&amp;format=csv"'):
        assert part in html
    assert 'id="map-view"' not in client.get("/", params={"model": "tiny-z2"}).text  # z=2: the plane itself
