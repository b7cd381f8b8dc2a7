"""What the explorer page shows, as plain data: the model and the slider z, the grid around it, an
upload's reconstruction. `server/routes/pages.py` builds these and the templates render them;
nothing here parses a request or writes HTML.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from model import latent
from server import render
from server.decoding import Reconstruction
from server.link import Interpolation
from server.registry import LoadedModel
from server.view import VIEW, Grid, beyond_notice, snap

BLANK_RANGE = 0.02  # a model input whose pixels all lie within this of each other shows nothing

BLANK = ("This image is all one shade (blank, one colour, or a single pixel): there is nothing in it for "
         "the encoder to read, so the reconstruction shows what the model makes of an empty input.")


@dataclass(frozen=True)
class Upload:
    """An upload's preprocessed input and its reconstruction, as PNG data URLs, and a warning when
    the input shows nothing (it is accepted: an empty input is a fair question to ask a model)."""

    input_url: str
    reconstruction_url: str
    warning: str | None = None

    @classmethod
    def of(cls, r: Reconstruction) -> Upload:
        shown, redrawn = (render.data_url(render.image_png(images)) for images in (r.input, r.image))
        blank = float(r.input.amax() - r.input.amin()) < BLANK_RANGE
        return cls(shown, redrawn, warning=BLANK if blank else None)


def landing(r: Reconstruction) -> tuple[list[float], str | None]:
    """Where an upload lands on the sliders: its latent mean, snapped; and the notice when some of it
    lies beyond the sliders' range."""
    mean = r.mean[0].tolist()
    return [snap(v) for v in mean], beyond_notice(mean, "Your image's latent mean")


def sample_sliders(dim: int, temperature: float) -> tuple[list[float], str | None]:
    """A fresh draw from the prior N(0, t^2 I), snapped onto the sliders; and the notice when some
    values fell beyond the sliders' range (at temperature 2, about one in eight)."""
    draw = latent.sample_prior(1, dim, seed=secrets.randbits(63), temperature=temperature)[0].tolist()
    return [snap(v) for v in draw], beyond_notice(draw, f"Sampled at temperature {temperature:g}")


@dataclass(frozen=True)
class Explorer:
    """Everything `partials/explorer.html` and its parts show for one model at one z."""

    model: LoadedModel
    z: list[float]
    grid: Grid | None = None
    upload: Upload | None = None
    notice: str | None = None  # shown under the sliders: why they do not hold exactly what was asked
    temperature: float = VIEW.temperature  # the Sample button's
    path: Interpolation = Interpolation()  # the interpolation's endpoints and method, from the page's link

    @property
    def kl(self) -> list[float | None]:
        """Each dimension's average KL on the test set, when the card has it: which sliders matter."""
        kl = self.model.card.metrics.get("kl_per_dim") or []
        return [kl[i] if i < len(kl) else None for i in range(len(self.z))]

