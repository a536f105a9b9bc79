"""Refusing requirements files that would make pip look beyond the snapshot.

pip obeys index and link options written inside a requirements file. Every "escaping" case
below was checked against pip 26.3's own requirements-file parser
(`pip._internal.req.req_file.parse_requirements`): each one really sets an index URL,
extra index URL, find-links location, trusted host or `--no-index` there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fetcher.requirement_files import (
    DirectReference,
    EscapingOption,
    LeavesSnapshot,
    check_requirement,
    check_requirement_file,
)

EVIL = "https://evil.example/simple"

# (file text, line number the error must name, canonical option it must name)
ESCAPING = [
    pytest.param(f"-i {EVIL}\n", 1, "--index-url", id="-i URL"),
    pytest.param(f"--index-url {EVIL}\n", 1, "--index-url", id="--index-url URL"),
    pytest.param(f"--index-url={EVIL}\n", 1, "--index-url", id="--index-url=URL"),
    pytest.param(f"-i={EVIL}\n", 1, "--index-url", id="-i=URL"),
    pytest.param(f"--extra-index-url {EVIL}\n", 1, "--extra-index-url", id="--extra-index-url URL"),
    pytest.param(f"--extra-index-url={EVIL}\n", 1, "--extra-index-url", id="--extra-index-url=URL"),
    pytest.param("-f /srv/wheels\n", 1, "--find-links", id="-f DIR"),
    pytest.param("--find-links /srv/wheels\n", 1, "--find-links", id="--find-links DIR"),
    pytest.param("--find-links=https://x.example/\n", 1, "--find-links", id="--find-links=URL"),
    pytest.param("--no-index\n", 1, "--no-index", id="--no-index"),
    pytest.param("--trusted-host evil.example\n", 1, "--trusted-host", id="--trusted-host h"),
    pytest.param("--trusted-host=evil.example\n", 1, "--trusted-host", id="--trusted-host=h"),
    pytest.param(f"   -i {EVIL}   \n", 1, "--index-url", id="indented"),
    pytest.param(f"--index-url {EVIL}  # our mirror\n", 1, "--index-url", id="trailing-comment"),
    pytest.param(f"--index-url '{EVIL}'\n", 1, "--index-url", id="quoted-value"),
    pytest.param(
        f"# pinned\nrequests==2.31.0\n\nflask>=2\n--extra-index-url {EVIL}\n",
        5,
        "--extra-index-url",
        id="after-requirements",
    ),
    pytest.param(f"--index-url \\\n    {EVIL}\n", 1, "--index-url", id="value-on-continuation"),
    pytest.param(
        f"requests==2.31.0\n--extra-index-url \\\n  \\\n  {EVIL}\nflask\n",
        2,
        "--extra-index-url",
        id="multi-continuation",
    ),
    pytest.param(f"-i {EVIL}", 1, "--index-url", id="no-final-newline"),
    pytest.param(f"requests\r\n-i {EVIL}\r\n", 2, "--index-url", id="crlf"),
    # --- spellings pip 26.3 accepts that are easy to miss -----------------------------
    # optparse accepts any unambiguous prefix of a long option.
    pytest.param(f"--index={EVIL}\n", 1, "--index-url", id="abbrev --index="),
    pytest.param(f"--index {EVIL}\n", 1, "--index-url", id="abbrev --index URL"),
    pytest.param(f"--extra {EVIL}\n", 1, "--extra-index-url", id="abbrev --extra"),
    pytest.param("--find=/srv/wheels\n", 1, "--find-links", id="abbrev --find="),
    pytest.param("--no-i\n", 1, "--no-index", id="abbrev --no-i"),
    pytest.param("--trusted=evil.example\n", 1, "--trusted-host", id="abbrev --trusted="),
    # A short option's value may be attached.
    pytest.param(f"-i{EVIL}\n", 1, "--index-url", id="attached -iURL"),
    pytest.param("-f/srv/wheels\n", 1, "--find-links", id="attached -fDIR"),
    # One line may hold several options; pip applies all of them.
    pytest.param(f"--pre --index-url {EVIL}\n", 1, "--index-url", id="second-option"),
    pytest.param("--prefer-binary --no-index\n", 1, "--no-index", id="second-option-no-index"),
    # pip joins continuation lines with nothing in between, so an option may be split.
    pytest.param(f"--index-\\\nurl={EVIL}\n", 1, "--index-url", id="continuation-splits-option"),
    pytest.param(f"-\\\ni {EVIL}\n", 1, "--index-url", id="continuation-splits-short"),
]


@pytest.mark.parametrize(("text", "line", "option"), ESCAPING)
def test_escaping_option_refused(tmp_path: Path, text: str, line: int, option: str) -> None:
    req = tmp_path / "requirements.txt"
    req.write_bytes(text.encode())
    with pytest.raises(EscapingOption) as info:
        check_requirement_file(req)
    message = str(info.value)
    assert f"{req}:{line}" in message
    assert option in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("requests==2.31.0\n", id="pin"),
        pytest.param("requests>=2,<3\nflask[async]==2.3.2 ; python_version >= '3.8'\n", id="specs"),
        pytest.param(f"# -i {EVIL}\nrequests\n", id="commented-out"),
        pytest.param(f"   # --index-url {EVIL}\n", id="indented-comment"),
        pytest.param(f"requests  # not --index-url {EVIL}\n", id="trailing-comment"),
        pytest.param(
            "requests==2.31.0 \\\n    --hash=sha256:" + "a" * 64 + "\n", id="hash-continuation"
        ),
        pytest.param("--pre\n--prefer-binary\n--only-binary :all:\n", id="harmless-options"),
        pytest.param("--require-hashes\n--no-binary=:none:\n", id="more-harmless"),
        pytest.param("foo-index-url==1.0\nno-index-helper\n", id="names-that-look-similar"),
        pytest.param("\n\n   \n", id="blank-lines"),
    ],
)
def test_ordinary_files_accepted(tmp_path: Path, text: str) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(text)
    check_requirement_file(req)  # does not raise


@pytest.mark.parametrize(
    ("include", "nested_name"),
    [
        ("-r nested.txt", "nested.txt"),
        ("--requirement nested.txt", "nested.txt"),
        ("--requirement=nested.txt", "nested.txt"),
        ("-c constraints.txt", "constraints.txt"),
        ("--constraint constraints.txt", "constraints.txt"),
        ("--constraint=constraints.txt", "constraints.txt"),
        ("-r sub/nested.txt", "sub/nested.txt"),
        ("-r nested.txt  # shared pins", "nested.txt"),
        # pip 26.3 also follows these:
        ("-rnested.txt", "nested.txt"),
        ("-cconstraints.txt", "constraints.txt"),
    ],
)
@pytest.mark.parametrize(
    ("nested_text", "line", "option"),
    [
        pytest.param(f"requests\n-i {EVIL}\n", 2, "--index-url", id="nested-i"),
        pytest.param("--find-links /srv/wheels\n", 1, "--find-links", id="nested-f"),
        pytest.param("flask\n\n--no-index\n", 3, "--no-index", id="nested-no-index"),
    ],
)
def test_nested_files_are_checked(
    tmp_path: Path, include: str, nested_name: str, nested_text: str, line: int, option: str
) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(f"requests\n{include}\n")
    nested = tmp_path / nested_name
    nested.parent.mkdir(parents=True, exist_ok=True)
    nested.write_text(nested_text)
    with pytest.raises(EscapingOption) as info:
        check_requirement_file(req)
    message = str(info.value)
    # The error names the nested file and its line, not the including one.
    assert f"{nested_name.split('/')[-1]}:{line}" in message
    assert option in message


def test_nested_paths_are_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "req.txt").write_text("-r b/inner.txt\n")
    (tmp_path / "a" / "b" / "inner.txt").write_text("-r ../../top.txt\n")
    (tmp_path / "top.txt").write_text(f"--extra-index-url {EVIL}\n")
    with pytest.raises(EscapingOption, match=r"top\.txt:1 .*--extra-index-url"):
        check_requirement_file(tmp_path / "a" / "req.txt")


def test_clean_nested_files_accepted_and_cycles_end(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("requests\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("flask\n-c a.txt\n-r b.txt\n")
    check_requirement_file(tmp_path / "a.txt")


def test_missing_nested_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r missing.txt\n")
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        check_requirement_file(tmp_path / "a.txt")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        check_requirement_file(tmp_path / "nope.txt")


def test_escaping_option_is_a_value_error_that_says_what_to_do(tmp_path: Path) -> None:
    req = tmp_path / "r.txt"
    req.write_text(f"-i {EVIL}\n")
    with pytest.raises(ValueError, match="remove that option"):
        check_requirement_file(req)


@pytest.mark.parametrize("line", ["-r https://example.com/more.txt", "-c http://x/c.txt",
                                  "--requirement=https://example.com/r.txt"])
def test_remote_includes_are_refused(tmp_path: Path, line: str) -> None:
    req = tmp_path / "r.txt"
    req.write_text(f"requests\n{line}\n")
    with pytest.raises(EscapingOption, match=r"r\.txt:2 includes"):
        check_requirement_file(req)


@pytest.mark.parametrize("line", ["--no-such-option", "-i", "--hash"])
def test_option_lines_pip_cannot_read_are_refused(tmp_path: Path, line: str) -> None:
    req = tmp_path / "r.txt"
    req.write_text(f"requests {line}\n")
    with pytest.raises(EscapingOption, match=r"r\.txt:1 cannot be read"):
        check_requirement_file(req)


# ---- requirements pip would take from a URL or a path, not from the index ----------------
# Each one was checked against pip 26.3 (`pip._internal.req.constructors.
# install_req_from_line`): it gives a link (a URL, VCS URL or local file), not a name to
# look up on the index.
WITNESS = "http://127.0.0.1:9/alpha-1.0-py3-none-any.whl"
DIRECT = [
    pytest.param(f"alpha @ {WITNESS}", "direct reference", id="name @ URL"),
    pytest.param(f"alpha[x]@{WITNESS} ; python_version > '3'", "direct reference", id="@-tight"),
    pytest.param("alpha @ file:///srv/alpha-1.0-py3-none-any.whl", "direct reference",
                 id="name @ file URL"),
    pytest.param("alpha @ git+https://example.com/alpha.git@v1", "direct reference",
                 id="name @ VCS URL"),
    pytest.param(WITNESS, "is a URL", id="bare URL"),
    pytest.param("git+https://example.com/alpha.git#egg=alpha", "is a URL", id="VCS URL"),
    pytest.param("hg+http://example.com/alpha", "is a URL", id="hg URL"),
    pytest.param("./alpha", "local path", id="relative dir"),
    pytest.param("/srv/alpha-1.0.tar.gz", "local path", id="absolute archive"),
    pytest.param("sub/alpha-1.0-py3-none-any.whl", "local path", id="archive in a dir"),
    # Valid PEP 508 names, but pip reads a name ending like an archive as a file.
    pytest.param("alpha-1.0-py3-none-any.whl", "local archive", id="wheel file name"),
    pytest.param("alpha.zip", "local archive", id="zip"),
    pytest.param("alpha.tar.gz[extra]", "local archive", id="archive with extras"),
    pytest.param("alpha.tgz;python_version>'3'", "local archive", id="archive with marker"),
]


@pytest.mark.parametrize(
    ("requirement", "why"),
    # An argument reaches pip after "--", so even an option is read as a requirement.
    [*DIRECT, pytest.param("-e", "not a valid requirement", id="an option")],
)
def test_requirements_not_by_name_are_refused(requirement: str, why: str) -> None:
    with pytest.raises(DirectReference) as info:
        check_requirement(requirement)
    message = str(info.value)
    assert repr(requirement) in message
    assert why in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "requirement",
    [
        "alpha",
        "alpha==1.0",
        "alpha[socks]>=2,<3 ; python_version >= '3.8'",
        "zope.interface",
        "backports.tarfile",  # ends in "tarfile", not ".tar"
        "alpha.zip==1.0",  # pip reads it as a name with a version
        "Alpha_Beta~=1.2",
    ],
)
def test_requirements_by_name_are_accepted(requirement: str) -> None:
    check_requirement(requirement)  # does not raise


@pytest.mark.parametrize(("requirement", "why"), DIRECT)
def test_requirement_lines_not_by_name_are_refused(
    tmp_path: Path, requirement: str, why: str
) -> None:
    req = tmp_path / "r.txt"
    req.write_text(f"beta==1.0\n{requirement} --hash=sha256:{'a' * 64}\n")
    with pytest.raises(DirectReference) as info:
        check_requirement_file(req)
    message = str(info.value)
    assert f"{req}:2: requirement {requirement!r}" in message
    assert why in message


@pytest.mark.parametrize("include", ["-r", "-c"])
def test_requirements_in_included_files_are_checked(tmp_path: Path, include: str) -> None:
    (tmp_path / "r.txt").write_text(f"beta\n{include} more.txt\n")
    (tmp_path / "more.txt").write_text(f"alpha @ {WITNESS}\n")
    with pytest.raises(DirectReference, match=r"more\.txt:1: requirement 'alpha @ "):
        check_requirement_file(tmp_path / "r.txt")


@pytest.mark.parametrize(
    "line", ["-e ./alpha", "--editable=git+https://example.com/alpha.git#egg=alpha", "-e."]
)
def test_editables_are_refused(tmp_path: Path, line: str) -> None:
    req = tmp_path / "r.txt"
    req.write_text(f"{line}\n")
    with pytest.raises(EscapingOption, match=r"r\.txt:1 sets --editable"):
        check_requirement_file(req)


@pytest.mark.parametrize(
    "line", ["${ALPHA_URL}", "alpha @ ${BASE}/alpha.whl", "-r ${MORE}", "alpha==${VERSION}"]
)
def test_environment_variables_pip_would_expand_are_refused(tmp_path: Path, line: str) -> None:
    req = tmp_path / "r.txt"
    req.write_text(f"{line}\n")
    with pytest.raises(LeavesSnapshot, match=r"r\.txt:1 uses \$\{[A-Z_]+\}, which pip replaces"):
        check_requirement_file(req)


def test_what_pip_does_not_expand_is_not_a_variable(tmp_path: Path) -> None:
    # pip expands only ${NAME} with upper-case letters, digits and _; comments go first.
    req = tmp_path / "r.txt"
    req.write_text("alpha  # see ${DOCS}\n")
    check_requirement_file(req)  # does not raise


def test_pip_compile_output_is_refused_with_the_option_that_avoids_it(tmp_path: Path) -> None:
    # What pip-compile writes by default: the index it used, then the pins.
    req = tmp_path / "requirements.txt"
    req.write_text(
        "#\n# This file is autogenerated by pip-compile\n#\n"
        "--index-url http://127.0.0.1:8080/simple/\n\nrequests==2.25.1\n"
    )
    with pytest.raises(EscapingOption) as caught:
        check_requirement_file(req)
    assert str(caught.value) == (
        f"{req}:4 sets --index-url http://127.0.0.1:8080/simple/; snapproxy resolves from "
        "the snapshot only, so remove that option (pip-compile writes it: run it with "
        "--no-emit-index-url)"
    )
