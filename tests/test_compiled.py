"""The kernel loader: numba only on first use, the same function compiled or not, and off
when asked (the numpy fallback every kernel's caller keeps)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from newsindex import compiled

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _running_sum(values, out):
    total = 0.0
    for i in range(values.shape[0]):
        total += values[i]
        out[i] = total
    return total


_KERNEL = compiled.kernel(_running_sum)


def test_import_and_small_work_do_not_load_numba():
    code = (
        "import sys, newsindex; from newsindex import compiled; "
        "print('numba' in sys.modules, 'llvmlite' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["False", "False"], out.stderr


@pytest.mark.skipif(not compiled.available(), reason="numba has no wheel for this Python")
def test_compiled_equals_python_to_the_bit():
    values = np.random.default_rng(7).standard_normal(1000)
    want = np.empty_like(values)
    got = np.empty_like(values)
    total = _running_sum(values, want)
    fn = _KERNEL.get()
    assert fn is not None and fn is not _running_sum
    assert fn(values, got) == total
    assert np.array_equal(got, want)


def test_disabled_and_environment_turn_kernels_off(monkeypatch):
    with compiled.disabled():
        assert _KERNEL.get() is None
        assert not compiled.available()
    monkeypatch.setenv("NEWSINDEX_COMPILED", "0")
    assert _KERNEL.get() is None


def _halve(x):
    return x * 0.5


def _halved_sum(values):
    total = 0.0
    for i in range(values.shape[0]):
        total += _halve(values[i])
    return total


_WITH_HELPER = compiled.kernel(_halved_sum, calls=(_halve,))


@pytest.mark.skipif(not compiled.available(), reason="numba has no wheel for this Python")
def test_a_kernel_calls_its_compiled_helpers():
    values = np.random.default_rng(3).random(1000)
    want = _halved_sum(values)  # plain Python, before anything is compiled
    fn = _WITH_HELPER.get()
    assert fn is not None and fn(values) == want
    # Its helper now answers compiled too, with the same result.
    assert type(globals()["_halve"]).__name__ == "CPUDispatcher"
    assert _halve(3.0) == 1.5


def _quarter(x):
    return x * 0.25


_QUARTERED = compiled.kernel(_halved_sum, name="_quartered_sum", using={"_halve": _quarter})


@pytest.mark.skipif(not compiled.available(), reason="numba has no wheel for this Python")
def test_a_variant_calls_its_own_helpers_and_leaves_the_kernel_alone():
    """A variant (the scan's loops over gap-coded doc numbers) is the same code calling
    other helpers: each kernel keeps its own, whichever is compiled first."""
    values = np.random.default_rng(5).random(1000)
    quarter = sum(x * 0.25 for x in values.tolist())
    fn = _QUARTERED.get()
    assert fn is not None and fn(values) == pytest.approx(quarter, rel=1e-12)
    assert fn.__name__ == "_quartered_sum"
    halved = _WITH_HELPER.get()
    assert halved is not None and halved(values) == pytest.approx(2 * quarter, rel=1e-12)
    assert fn(values) == pytest.approx(quarter, rel=1e-12)
