"""The benchmark scripts still run against the code they measure: each parses its default
arguments, and the store benchmark's alternatives and profile make their renditions from a
real image. (The benchmarks themselves are not tests: `make bench` runs them.)"""

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.factories import image_bytes

HERE = Path(__file__).resolve().parent / "benchmarks"
SCRIPTS = sorted(
    path.stem
    for path in HERE.glob("*.py")
    if path.stem not in {"common", "run", "bench_wsgi", "bench_middleware"}
)


def load(name):
    sys.path.insert(0, str(HERE))
    try:
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(HERE))


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_benchmark_imports_and_parses_its_defaults(name):
    module = load(name)
    assert callable(module.main)
    if hasattr(module, "parse"):
        assert module.parse([]) is not None


def test_every_store_alternative_and_the_profile_run_on_a_real_picture(tmp_path):
    store = load("store")
    picture = tmp_path / "picture.png"
    picture.write_bytes(image_bytes("PNG", (1600, 900)))
    for name, alternative in store.ALTERNATIVES.items():
        with picture.open("rb") as fileobj:
            made = alternative(fileobj)
        assert made["thumbnail"][:4] == b"RIFF", name
        assert made["thumbnail_2x"][:4] == b"RIFF", name
    assert set(store.truth(picture)) >= {"thumbnail", "thumbnail_2x", "preview"}
    steps = store.derive_steps(picture, 1)
    assert all(ms >= 0 for ms in steps.values())
