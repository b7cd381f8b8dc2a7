"""The training CLI end to end on synthetic data: outputs, card, resume after kill -9, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from model import store
from model.data import SPLITS
from model.distributed import World
from model.train import draws, main, parse_args

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 6
LATENT_DIM = 3
NAME = "tiny"
# small batches make an epoch take a fraction of a second: long enough to kill a run mid-epoch
TINY = ["--data", "mnist", "--latent-dim", str(LATENT_DIM), "--hidden", "64", "--batch-size", "16",
        "--epochs", str(EPOCHS), "--iw-samples", "5", "--threads", "1", "--seed", "0", "--name", NAME]

pytestmark = pytest.mark.slow


def train_command(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "model.train", *TINY, "--data-dir", str(data_dir),
            "--out", str(run_dir / "weights"), "--checkpoint-dir", str(run_dir / "checkpoints"), *extra]


def train(data_dir: Path, run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(train_command(data_dir, run_dir, *extra), cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def card_of(run_dir: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads((run_dir / "weights" / f"{NAME}.json").read_text())
    return card


def checkpoint_epoch(run_dir: Path) -> int:
    """The last finished epoch in the run's checkpoint, 0 when there is none yet."""
    ckpt = run_dir / "checkpoints" / NAME / "last.pt"
    if not ckpt.is_file():
        return 0
    return int(torch.load(ckpt, map_location="cpu", weights_only=True)["epoch"])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, synthetic_data_dir: Path) -> Path:
    """An uninterrupted run of EPOCHS epochs; returns its folder (weights/ and checkpoints/)."""
    run_dir = tmp_path_factory.mktemp("finished-run")
    proc = train(synthetic_data_dir, run_dir)
    assert proc.returncode == 0, proc.stderr
    return run_dir


@pytest.fixture(scope="module")
def resumed_run(
    tmp_path_factory: pytest.TempPathFactory, synthetic_data_dir: Path
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A run killed by SIGKILL after its first checkpoint, then resumed: its folder and the resume."""
    run_dir = tmp_path_factory.mktemp("resumed-run")
    with open(run_dir / "killed.log", "w") as log:
        proc = subprocess.Popen(train_command(synthetic_data_dir, run_dir), cwd=ROOT,
                                stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 120
            while checkpoint_epoch(run_dir) < 1:
                assert proc.poll() is None, (run_dir / "killed.log").read_text()
                assert time.monotonic() < deadline, "no checkpoint after 120 s"
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
    killed_after = checkpoint_epoch(run_dir)
    assert proc.returncode == -signal.SIGKILL
    assert 1 <= killed_after < EPOCHS, f"the run finished {killed_after} epochs before it was killed"
    assert not (run_dir / "weights" / f"{NAME}.json").exists()
    resumed = train(synthetic_data_dir, run_dir, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    return run_dir, resumed


def test_training_writes_weights_card_and_plot(finished_run: Path) -> None:
    out = finished_run / "weights"
    assert sorted(p.name for p in out.iterdir()) == [f"{NAME}.json", f"{NAME}.png", f"{NAME}.safetensors"]
    assert (out / f"{NAME}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_card_records_metrics_and_provenance(finished_run: Path) -> None:
    card = card_of(finished_run)
    for key in ("command", "seconds", "device", "torch_version", "config"):
        assert key in card, key
    for key in ("test_neg_elbo", "test_nll_iw", "kl_per_dim", "history"):
        assert key in card["metrics"], key
    assert card["torch_version"] == torch.__version__
    assert card["command"].startswith("python -m model.train")


def test_card_has_one_kl_per_latent_dimension(finished_run: Path) -> None:
    assert len(card_of(finished_run)["metrics"]["kl_per_dim"]) == LATENT_DIM


def test_test_loss_drops_during_training(finished_run: Path) -> None:
    history = card_of(finished_run)["metrics"]["history"]
    assert len(history["test"]) == len(history["train"]) == EPOCHS
    assert history["test"][-1] < history["test"][0]


def test_trained_weights_load_and_decode(finished_run: Path) -> None:
    vae = store.load(NAME, folder=finished_run / "weights")
    with torch.inference_mode():
        assert vae.decode(torch.zeros(2, LATENT_DIM)).shape == (2, 1, 28, 28)


def test_resume_after_kill_finishes_every_epoch_once(
    resumed_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = resumed_run
    assert checkpoint_epoch(run_dir) == EPOCHS
    history = card_of(run_dir)["metrics"]["history"]
    assert len(history["train"]) == len(history["test"]) == EPOCHS


def test_resume_says_it_is_resuming(resumed_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, resumed = resumed_run
    assert f"resuming {NAME} after epoch" in resumed.stderr


def test_resumed_run_gives_the_same_weights_as_an_uninterrupted_one(
    resumed_run: tuple[Path, subprocess.CompletedProcess[str]], finished_run: Path
) -> None:
    run_dir, _ = resumed_run
    resumed = load_file(str(run_dir / "weights" / f"{NAME}.safetensors"))
    uninterrupted = load_file(str(finished_run / "weights" / f"{NAME}.safetensors"))
    assert resumed.keys() == uninterrupted.keys()
    for key in resumed:
        assert torch.equal(resumed[key], uninterrupted[key]), key
    assert card_of(run_dir)["metrics"]["history"] == card_of(finished_run)["metrics"]["history"]


def refusal(data_dir: Path, run_dir: Path, *extra: str) -> str:
    """The one-line error of resuming `run_dir` with other options (run in-process: faster)."""
    argv = train_command(data_dir, run_dir, "--resume", *extra)[3:]
    before = torch.get_num_threads()  # main() applies --threads to this process
    try:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    finally:
        torch.set_num_threads(before)
    message = str(exit_.value.code)
    assert message.startswith("error: ") and "\n" not in message
    return message


def test_resume_refuses_a_checkpoint_of_another_config(
    resumed_run: tuple[Path, subprocess.CompletedProcess[str]], synthetic_data_dir: Path
) -> None:
    assert "config" in refusal(synthetic_data_dir, resumed_run[0], "--hidden", "32")


def test_resume_refuses_another_number_of_epochs(
    resumed_run: tuple[Path, subprocess.CompletedProcess[str]], synthetic_data_dir: Path
) -> None:
    message = refusal(synthetic_data_dir, resumed_run[0], "--epochs", str(EPOCHS + 2))
    assert f"--epochs {EPOCHS} (now {EPOCHS + 2})" in message


def test_a_checkpoint_write_cut_short_leaves_nothing_behind(
    tmp_path: Path, synthetic_data_dir: Path
) -> None:
    assert train(synthetic_data_dir, tmp_path, "--epochs", "1").returncode == 0
    folder = tmp_path / "checkpoints" / NAME
    stale = folder / ".last.pt.abc123.tmp"  # what a kill -9 during a checkpoint write leaves
    stale.write_bytes(b"half a checkpoint")
    resumed = train(synthetic_data_dir, tmp_path, "--epochs", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["last.pt"]


def bad_data_dirs(tmp_path: Path) -> dict[str, Path]:
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    for stem in (*SPLITS["train"], *SPLITS["test"]):
        (truncated / stem).write_bytes(b"\x00\x00\x08\x03\x00\x00")
    return {"missing": tmp_path / "nowhere", "truncated": truncated}


@pytest.mark.parametrize("kind", ["missing", "truncated"])
def test_bad_data_dir_gives_one_line_error_without_traceback(tmp_path: Path, kind: str) -> None:
    bad = bad_data_dirs(tmp_path)[kind]
    proc = train(bad, tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0], proc.stderr


def test_binarized_training_learns_and_records_the_flag(tmp_path: Path, synthetic_data_dir: Path) -> None:
    proc = train(synthetic_data_dir, tmp_path, "--binarize")
    assert proc.returncode == 0, proc.stderr
    card = card_of(tmp_path)
    assert "--binarize" in card["command"] and card["binarize"] is True
    history = card["metrics"]["history"]["test"]  # evaluated on the grey levels, not on draws
    assert history[-1] < history[0]


def test_iw_bound_training_learns_and_is_recorded_in_the_card(
    tmp_path: Path, synthetic_data_dir: Path
) -> None:
    proc = train(synthetic_data_dir, tmp_path, "--iw-train", "4", "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    card = card_of(tmp_path)
    assert card["iw_train"] == 4 and "--iw-train 4" in card["command"]
    history = card["metrics"]["history"]["test"]
    assert history[-1] < history[0]


def test_regularizers_train_and_are_recorded_in_the_card(tmp_path: Path, synthetic_data_dir: Path) -> None:
    proc = train(synthetic_data_dir, tmp_path, "--weight-decay", "0.01", "--dropout", "0.1",
                 "--kl-warmup", "2", "--shift", "1")
    assert proc.returncode == 0, proc.stderr
    card = card_of(tmp_path)
    assert (card["weight_decay"], card["dropout"], card["kl_warmup"], card["shift"]) == (0.01, 0.1, 2, 1)
    assert "--weight-decay 0.01 --dropout 0.1 --kl-warmup 2 --shift 1" in card["command"]
    history = card["metrics"]["history"]["test"]
    assert history[-1] < history[0]


def test_a_run_without_regularizers_records_them_off(finished_run: Path) -> None:
    card = card_of(finished_run)
    assert (card["weight_decay"], card["dropout"], card["kl_warmup"], card["shift"]) == (0, 0, 0, 0)
    assert "--shift" not in card["command"] and "--dropout" not in card["command"]


@pytest.mark.parametrize("flags", [["--kl-warmup", "1", "--iw-train", "3"], ["--dropout", "1"],
                                   ["--shift", "-1"], ["--iw-samples", "0"]])
def test_impossible_regularizer_flags_are_refused(tmp_path: Path, synthetic_data_dir: Path,
                                                   flags: list[str]) -> None:
    proc = train(synthetic_data_dir, tmp_path, *flags)
    assert proc.returncode == 2 and "error:" in proc.stderr


def test_each_process_shifts_its_own_images_as_one_process_would() -> None:
    args = parse_args(["--shift", "2", "--binarize"])
    one = draws(7, 8, World(), args, torch.Size([1, 4, 4]), 3, torch.device("cpu"))
    assert one.shifts is not None
    for rank in (0, 1):
        mine = draws(7, 8, World(rank=rank, size=2), args, torch.Size([1, 4, 4]), 3, torch.device("cpu"))
        assert mine.shifts is not None
        assert torch.equal(mine.shifts[0], one.shifts[0][rank::2])
        assert torch.equal(mine.shifts[1], one.shifts[1][rank::2])
        assert torch.equal(mine.eps, one.eps[rank::2])


def test_shifts_leave_the_other_draws_as_they_were() -> None:
    shifted = draws(3, 8, World(), parse_args(["--shift", "1", "--binarize"]), torch.Size([1, 4, 4]), 3,
                    torch.device("cpu"))
    plain = draws(3, 8, World(), parse_args(["--binarize"]), torch.Size([1, 4, 4]), 3, torch.device("cpu"))
    assert plain.shifts is None and plain.u is not None and shifted.u is not None
    assert torch.equal(shifted.u, plain.u) and torch.equal(shifted.eps, plain.eps)


def test_a_flow_posterior_trains_and_the_card_rebuilds_it(tmp_path: Path, synthetic_data_dir: Path) -> None:
    proc = train(synthetic_data_dir, tmp_path, "--flow-steps", "2", "--flow-hidden", "16", "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    card = card_of(tmp_path)
    assert card["config"]["flow_steps"] == 2 and "--flow-steps 2 --flow-hidden 16" in card["command"]
    history = card["metrics"]["history"]["test"]
    assert history[-1] < history[0]
    assert store.load(tmp_path / "weights" / NAME).flow is not None


def test_a_relu_network_trains_and_the_card_rebuilds_it(tmp_path: Path, synthetic_data_dir: Path) -> None:
    proc = train(synthetic_data_dir, tmp_path, "--activation", "relu", "--epochs", "2")
    assert proc.returncode == 0, proc.stderr
    card = card_of(tmp_path)
    assert card["config"]["activation"] == "relu" and "--activation relu" in card["command"]
    vae = store.load(tmp_path / "weights" / NAME)
    kinds = {type(m).__name__ for m in vae.modules()}
    assert "ReLU" in kinds and "ELU" not in kinds


def test_an_elu_card_does_not_name_its_activation(finished_run: Path) -> None:
    card = card_of(finished_run)
    assert "activation" not in card["config"] and "--activation" not in card["command"]
