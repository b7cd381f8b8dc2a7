"""Training under torchrun: the same losses as one process, a kill -9 of a rank survived, resumes
across world sizes continued or refused. Workers run on CPU with gloo, one thread each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from model.data import SPLITS, write_idx
from model.train import main
from tests.conftest import synthetic_digits

ROOT = Path(__file__).resolve().parents[2]
NAME = "tiny"
EPOCHS = 2
# 2,000 images in global batches of 10: 200 steps an epoch, long enough to kill a run mid-epoch
# even on a fast machine (the first checkpoint comes after 10)
TINY = ["--data", "mnist", "--latent-dim", "3", "--hidden", "64", "--batch-size", "10", "--epochs",
        str(EPOCHS), "--iw-samples", "5", "--threads", "1", "--seed", "0", "--name", NAME,
        "--checkpoint-every", "10"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                   reason="finds torchrun's workers through /proc")]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-2000")
    for split, n in (("train", 2000), ("test", 100)):
        images, labels = synthetic_digits(n, seed=1 if split == "train" else 2)
        write_idx(folder / SPLITS[split][0], images)
        write_idx(folder / SPLITS[split][1], labels)
    return folder


def command(nproc: int, data_dir: Path, run_dir: Path, *extra: str, max_restarts: int = 0) -> list[str]:
    """torchrun with nproc processes, or plain python for nproc = 0."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                f"--max-restarts={max_restarts}", "--monitor-interval=0.1", "-m", "model.train"]
    return [*(launcher if nproc else [sys.executable, "-m", "model.train"]), *TINY,
            "--data-dir", str(data_dir), "--out", str(run_dir / "weights"),
            "--checkpoint-dir", str(run_dir / "checkpoints"), *extra]


def start(cmd: list[str], run_dir: Path) -> subprocess.Popen[str]:
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "log.txt", "w")  # noqa: SIM115 - the process owns it until it ends
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def finish(proc: subprocess.Popen[str], run_dir: Path) -> str:
    proc.wait(timeout=120)
    return (run_dir / "log.txt").read_text()


def run(cmd: list[str], run_dir: Path) -> tuple[int, str]:
    proc = start(cmd, run_dir)
    out = finish(proc, run_dir)
    return proc.returncode, out


def card_of(run_dir: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads((run_dir / "weights" / f"{NAME}.json").read_text())
    return card


def weights_of(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "weights" / f"{NAME}.safetensors"))


def checkpoint_step(run_dir: Path) -> int:
    ckpt = run_dir / "checkpoints" / NAME / "last.pt"
    try:
        return int(torch.load(ckpt, map_location="cpu", weights_only=True)["step"])
    except (FileNotFoundError, RuntimeError, EOFError):  # none yet, or replaced while being read
        return 0


def wait_for_checkpoint(proc: subprocess.Popen[str], run_dir: Path) -> None:
    deadline = time.monotonic() + 60
    while checkpoint_step(run_dir) == 0:
        assert proc.poll() is None, (run_dir / "log.txt").read_text()
        assert time.monotonic() < deadline, "no checkpoint after 60 s"
        time.sleep(0.01)


def worker_pid(launcher_pid: int, rank: int) -> int:
    """The pid of torchrun's worker of `rank`: a child of the launcher with RANK=<rank> in its environment."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            env = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == launcher_pid and f"RANK={rank}".encode() in env:
            return int(proc.name)
    raise AssertionError(f"no worker of rank {rank} under pid {launcher_pid}")


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("one-process")
    rc, out = run(command(0, data_dir, run_dir), run_dir)
    assert rc == 0, out
    return run_dir


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("two-processes")
    rc, out = run(command(2, data_dir, run_dir), run_dir)
    assert rc == 0, out
    return run_dir


def assert_same_losses(a: Path, b: Path) -> None:
    """Every epoch's train and test loss agree within 0.1%."""
    ha, hb = card_of(a)["metrics"]["history"], card_of(b)["metrics"]["history"]
    for split in ("train", "test"):
        assert len(ha[split]) == len(hb[split]) == EPOCHS
        assert hb[split] == pytest.approx(ha[split], rel=1e-3), split


def test_two_processes_give_the_losses_of_one(one_process: Path, two_processes: Path) -> None:
    assert_same_losses(one_process, two_processes)
    ones, twos = weights_of(one_process), weights_of(two_processes)
    for key in ones:  # the same batches and noise: only the order of float sums differs
        assert torch.allclose(ones[key], twos[key], atol=1e-3), key


def test_card_records_the_world_size_and_the_torchrun_command(one_process: Path, two_processes: Path) -> None:
    assert card_of(one_process)["world_size"] == 1
    assert card_of(two_processes)["world_size"] == 2
    assert card_of(two_processes)["command"].startswith("torchrun --nproc_per_node=2 -m model.train")


def test_only_rank_0_reports_progress(two_processes: Path) -> None:
    out = (two_processes / "log.txt").read_text()
    assert out.count(f"{NAME} epoch 1/{EPOCHS}:") == 1


@pytest.mark.parametrize("rank", [1, 0])
def test_kill_9_of_a_rank_restarts_from_the_checkpoint_and_finishes(
    tmp_path: Path, data_dir: Path, two_processes: Path, rank: int
) -> None:
    proc = start(command(2, data_dir, tmp_path, max_restarts=1), tmp_path)
    try:
        wait_for_checkpoint(proc, tmp_path)
        os.kill(worker_pid(proc.pid, rank=rank), signal.SIGKILL)
        out = finish(proc, tmp_path)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert f"resuming {NAME} after epoch 0 (step " in out, out  # killed mid-epoch 1, restarted from there
    assert card_of(tmp_path)["metrics"]["history"] == card_of(two_processes)["metrics"]["history"]
    killed, uninterrupted = weights_of(tmp_path), weights_of(two_processes)
    for key in uninterrupted:
        assert torch.equal(killed[key], uninterrupted[key]), key


def test_a_checkpoint_of_one_process_resumes_in_two(
    tmp_path: Path, data_dir: Path, one_process: Path
) -> None:
    proc = start(command(0, data_dir, tmp_path), tmp_path)
    try:
        wait_for_checkpoint(proc, tmp_path)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert 0 < checkpoint_step(tmp_path) < 200, "the run was to be killed in its first epoch"
    rc, out = run(command(2, data_dir, tmp_path, "--resume"), tmp_path)
    assert rc == 0, out
    assert_same_losses(one_process, tmp_path)
    assert card_of(tmp_path)["world_size"] == 2


def test_resume_refuses_a_world_size_that_changes_the_batches(tmp_path: Path, data_dir: Path) -> None:
    odd = ["--limit", "199", "--epochs", "1"]  # 199 images: two processes would pad the epoch
    assert run(command(0, data_dir, tmp_path, *odd), tmp_path)[0] == 0
    rc, out = run(command(2, data_dir, tmp_path, *odd, "--resume"), tmp_path)
    assert rc != 0
    assert "was written by 1 processes and this run has 2" in out
    assert "do not split evenly over 2 processes" in out


def test_a_global_batch_that_does_not_split_over_the_processes_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path
) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(SystemExit) as exit_:
        main(command(0, data_dir, tmp_path)[3:])
    assert str(exit_.value.code) == (
        "error: --batch-size 10 is the global batch, split evenly over the 3 processes; pick a multiple of 3")
