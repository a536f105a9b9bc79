"""Reading the true hash from Nix's hash-mismatch error, and nothing else."""

from __future__ import annotations

import pytest

from fetcher.nix_mismatch import true_hash_from_mismatch

SRI = "sha256-KItMUFnghISXp/8tPdFy8elIgwVLa+uwH9Zl5pA0zfs="
NIX32 = "1k7zmvpwxcvym2gas8ncgxkn55r9drbqplaawbjgpr0bm2jrwsgq"
NIX32_AS_SRI = "sha256-+GmepagL5Pvk4krRi1duKZdiZ3/MIq2eqH6zzu+u/8w="  # the same digest

NIX_2_8 = f"""building '/nix/store/x.drv'...
error: hash mismatch in fixed-output derivation '/nix/store/x.drv':
         specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
            got:    {SRI}
"""
NIX_2_3 = f"""hash mismatch in fixed-output derivation '/nix/store/y':
  wanted: sha256:0000000000000000000000000000000000000000000000000000
  got:    sha256:{NIX32}
cannot build derivation '/nix/store/z.drv': 1 dependencies couldn't be built
"""


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [(NIX_2_8, SRI), (NIX_2_3, NIX32_AS_SRI)],
    ids=["nix-2.4+", "nix-2.3"],
)
def test_mismatch_gives_the_got_hash_as_sri(stderr: str, expected: str) -> None:
    assert true_hash_from_mismatch(stderr) == expected


@pytest.mark.parametrize(
    "stderr",
    [
        "",
        "error: builder for '/nix/store/x.drv' failed with exit code 1\n",
        # A build failure that prints something hash-like is still no hash.
        f"snapproxy: error: cannot resolve\n  got: {SRI}\nerror: builder failed\n",
        NIX_2_8.replace("got:", "received:"),
        NIX_2_8.replace("specified:", "expected:"),
        NIX_2_8.replace(SRI, "sha256-notahash"),
        NIX_2_8 + f"            got:    {SRI}\n",  # two answers: ambiguous
    ],
)
def test_anything_else_gives_no_hash(stderr: str) -> None:
    assert true_hash_from_mismatch(stderr) is None
