"""Nix evaluation for ``snapproxy refresh``: finding the calls, building one with a hash.

Everything that runs ``nix-instantiate`` or ``nix-build`` is here; rewriting the file is
elsewhere (:mod:`fetcher.hash_rewrite`).  A call is a derivation made by
``nix/fetch-python-requirements.nix``, recognised by its ``snapproxyFetch`` attribute,
which carries the fetch command line, the hash and where the hash is written.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fetcher.hash_formats import FAKE_SRI

__all__ = ["AutoArgs", "FetchCall", "NixError", "build_with_hash", "find_calls"]


class NixError(RuntimeError):
    """Nix could not evaluate or build what was asked; the message is Nix's own."""


@dataclass(frozen=True)
class AutoArgs:
    """``--arg NAME EXPR`` and ``--argstr NAME VALUE``, passed on as nix-build takes them."""

    exprs: tuple[tuple[str, str], ...] = ()
    strings: tuple[tuple[str, str], ...] = ()

    def nix(self) -> str:
        """The arguments as a Nix attribute set, as nix-build builds it from the options."""
        fields = [f"{_nix_string(name)} = ({expr});" for name, expr in self.exprs]
        fields += [f"{_nix_string(name)} = {_nix_string(value)};" for name, value in self.strings]
        return "{ " + " ".join(fields) + " }"


@dataclass(frozen=True)
class FetchCall:
    attr: str  # "" for the file's value itself, else a dotted attribute path
    hash: str
    hash_attr: str
    file: Path | None  # where the hash attribute is written
    line: int
    column: int
    fetch_args: tuple[str, ...]


def _nix_string(text: str) -> str:
    # Non-ASCII as itself: Nix reads JSON's \u escapes as a plain "u".
    return json.dumps(text, ensure_ascii=False).replace("${", "\\${")


def _value_expr(file: Path, auto: AutoArgs) -> str:
    """The file's value, applied to the auto-arguments as nix-build would."""
    return f"""
    let
      autoArgs = {auto.nix()};
      imported = import {_nix_string(str(file.resolve()))};
      value =
        if builtins.isFunction imported
        then imported (builtins.intersectAttrs (builtins.functionArgs imported) autoArgs)
        else imported;
      at = path: builtins.foldl' (v: name: v.${{name}}) value path;
    """


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Substitutes are never wanted here (and none may be reachable): fail fast. Last, so
    # that no earlier line of the user's configuration brings them back.
    env["NIX_CONFIG"] = env.get("NIX_CONFIG", "") + "\nsubstituters =\nextra-substituters =\n"
    return env


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, env=_env(), check=False)


def find_calls(file: Path, attrs: Sequence[str], auto: AutoArgs) -> list[FetchCall]:
    """The fetchPythonRequirements calls of ``file``'s value (or of ``attrs`` in it).

    Without attributes: the value itself if it is a call, else the calls among its
    attributes and, one level down, in nested attribute sets (as ``tools.cli``).
    """
    paths = [a.split(".") for a in attrs]
    expr = (
        _value_expr(file, auto)
        + f"""
      describe = path: v: {{
        attr = builtins.concatStringsSep "." path;
        info = builtins.removeAttrs v.snapproxyFetch [ "withHash" ];
      }};
      isCall = v: builtins.isAttrs v && v ? snapproxyFetch;
      search = depth: path: v:
        if isCall v then [ (describe path v) ]
        else if depth > 0 && builtins.isAttrs v && (v.type or null) != "derivation"
        then builtins.concatLists (builtins.attrValues (builtins.mapAttrs
          (name: child:
            let tried = builtins.tryEval child; in
            if tried.success then search (depth - 1) (path ++ [ name ]) tried.value else [ ])
          v))
        else [ ];
      wanted = builtins.fromJSON {_nix_string(json.dumps(paths))};
    in
      if wanted == [ ] then search 2 [ ] value
      else map (path:
        let v = at path; in
        if isCall v then describe path v
        else throw "${{builtins.concatStringsSep "." path}} is not a fetchPythonRequirements call"
      ) wanted
    """
    )
    result = _run(
        [
            "nix-instantiate",
            "--eval",
            "--json",
            "--strict",
            "--read-write-mode",
            "-E",
            expr,
        ]
    )
    if result.returncode != 0:
        raise NixError(result.stderr.strip())
    calls = []
    for item in json.loads(result.stdout):
        info = item["info"]
        position = info.get("hashPosition") or {}
        calls.append(
            FetchCall(
                attr=item["attr"],
                hash=str(info["hash"]),
                hash_attr=str(info["hashAttr"]),
                file=Path(position["file"]) if position.get("file") else None,
                line=int(position.get("line", 0)),
                column=int(position.get("column", 0)),
                fetch_args=tuple(str(a) for a in info["fetchArgs"]),
            )
        )
    return calls


def build_with_hash(
    file: Path, call: FetchCall, auto: AutoArgs, new_hash: str = FAKE_SRI
) -> subprocess.CompletedProcess[str]:
    """``nix-build`` of ``call`` with its hash replaced, substitutes off; Nix's answer."""
    path = call.attr.split(".") if call.attr else []
    expr = (
        _value_expr(file, auto)
        + f"""
    in (at (builtins.fromJSON {_nix_string(json.dumps(path))})).snapproxyFetch.withHash
         {_nix_string(new_hash)}
    """
    )
    return _run(["nix-build", "--no-out-link", "-E", expr])
