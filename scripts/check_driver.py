"""`make gpu-env`'s first step: the node's NVIDIA driver can run the GPU lock's CUDA 13 torch.

Exit status 1 with one line when the driver is missing or older than CUDA 13 needs
(mirage.core.devices.MIN_DRIVER_CUDA13); MIRAGE_SKIP_DRIVER_CHECK=1 skips it (building the
environment on a login node without GPUs, to be used on GPU nodes whose driver you know)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mirage.core.devices import MIN_DRIVER_CUDA13, driver_version, parse_version  # noqa: E402


def main() -> int:
    if os.environ.get("MIRAGE_SKIP_DRIVER_CHECK") == "1":
        print("driver check skipped (MIRAGE_SKIP_DRIVER_CHECK=1)")
        return 0
    need = MIN_DRIVER_CUDA13
    found = driver_version()
    if found is None:
        print(f"no NVIDIA driver on this node (/proc/driver/nvidia/version): requirements-gpu.lock's torch is a "
              f"CUDA 13 build, which needs driver >= {need}; run make gpu-env on a GPU node, or set "
              "MIRAGE_SKIP_DRIVER_CHECK=1", file=sys.stderr)
        return 1
    if parse_version(found) < parse_version(MIN_DRIVER_CUDA13):
        print(f"NVIDIA driver {found} is older than {need}, which requirements-gpu.lock's CUDA 13 torch needs: "
              "its jobs would see no GPU (mirage.core.devices stops them); update the driver or use a node that has it",
              file=sys.stderr)
        return 1
    print(f"NVIDIA driver {found} >= {need}: CUDA 13 runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
