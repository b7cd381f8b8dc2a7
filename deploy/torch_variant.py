"""Exit non-zero unless the installed torch is the wanted build: `python torch_variant.py cpu|cuda`.

The image build runs it, and so does tests/deploy/test_image.sh inside the built image: a CPU image
must never carry PyPI's multi-GB CUDA build of torch or the nvidia-* wheels that come with it.
"""

import sys
from importlib import metadata

import torch


def nvidia_packages() -> list[str]:
    names = (dist.metadata["Name"] or "" for dist in metadata.distributions())
    return sorted(name for name in names if name.lower().startswith("nvidia"))


def check(want: str) -> str | None:
    """None when torch is the `want` build, else what is wrong."""
    cuda = torch.version.cuda
    if want not in ("cpu", "cuda"):
        return f"expected cpu or cuda, got {want!r}"
    if want == "cpu" and cuda is not None:
        return f"torch {torch.__version__} is a CUDA {cuda} build, but a CPU image was asked for"
    if want == "cpu" and nvidia_packages():
        return f"a CPU image should hold no NVIDIA packages, found {', '.join(nvidia_packages())}"
    if want == "cuda" and cuda is None:
        return f"torch {torch.__version__} is CPU-only, but a CUDA image was asked for"
    return None


def main(want: str) -> int:
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, wanted {want}")
    problem = check(want)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "cpu"))
