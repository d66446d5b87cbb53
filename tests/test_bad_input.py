"""The regression net for bad input: every case is one line on stderr, exit code 2, no traceback,
and not a single file created or changed in the folder the command works in.

Each case builds what it needs in a fresh folder (experiment files, a finished run's store,
odd files), snapshots the folder with a hash of every file, runs the command in-process and
compares. Output-location cases for a run also show that nothing was asked: a run that
started would have created its store.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_helpers import run_cli

GOOD = """
probe = "wvs"
name = "bad-input"
seed = 1
languages = ["en"]
store = "runs/bad-input.sqlite"
output = "runs/bad-input"

[[models]]
name = "mock-a"
backend = "mock"

[wvs]
prompts_per_language = 2
"""

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _experiment(work: Path, text: str = GOOD, name: str = "exp.toml") -> str:
    (work / name).write_text(text, encoding="utf-8")
    return name


def _edit(old: str, new: str) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        assert old in GOOD
        return ["run", _experiment(work, GOOD.replace(old, new)), "--no-progress"]

    return setup


def _a_file(work: Path, name: str = "afile") -> str:
    (work / name).write_text("not a folder\n", encoding="utf-8")
    return name


def _read_only_folder(work: Path) -> str:
    # Only honest for a user other than root: root writes through mode bits (such cases skip).
    folder = work / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return "locked"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _finished_run(work: Path) -> str:
    """A store holding a real finished run of GOOD (generated in a folder outside `work`)."""
    return str(FINISHED_STORE)


FINISHED_STORE = Path()


@dataclass
class Case:
    id: str
    setup: Callable[[Path], list[str]]
    message: str  # a fragment the error line must hold
    needs_non_root: bool = False


def _run_case(id: str, text: str, message: str, *extra: str) -> Case:
    return Case(id, lambda w: ["run", _experiment(w, text), "--no-progress", *extra], message)


def _store_parent_is_file(w: Path) -> list[str]:
    _a_file(w)
    return _edit('store = "runs/bad-input.sqlite"', 'store = "afile/run.sqlite"')(w)


def _output_is_file(w: Path) -> list[str]:
    _a_file(w)
    return _edit('output = "runs/bad-input"', 'output = "afile"')(w)


def _output_under_file(w: Path) -> list[str]:
    _a_file(w)
    return _edit('output = "runs/bad-input"', 'output = "afile/out"')(w)


def _output_read_only(w: Path) -> list[str]:
    _read_only_folder(w)
    return _edit('output = "runs/bad-input"', 'output = "locked/out"')(w)


def _empty_csv(w: Path) -> str:
    (w / "empty.csv").write_text("", encoding="utf-8")
    return "empty.csv"


CASES = [
    # issue item 6: output locations, before any model call
    Case("run store under a file", _store_parent_is_file, "afile is a file"),
    Case("run output is a file", _output_is_file, "existing file"),
    Case("run output under a file", _output_under_file, "afile is a file"),
    Case("run output read-only", _output_read_only, "cannot write", needs_non_root=True),
    Case("analyze -o file", lambda w: ["analyze", "-o", _a_file(w), "--store", _finished_run(w)], "existing file"),
    Case("report -o file", lambda w: ["report", _finished_run(w), "-o", _a_file(w)], "existing file"),
    Case("report -o under a file", lambda w: ["report", _finished_run(w), "-o", f"{_a_file(w)}/r"], "is a file"),
    Case(
        "report -o read-only",
        lambda w: ["report", _finished_run(w), "-o", f"{_read_only_folder(w)}/r"],
        "cannot write",
        needs_non_root=True,
    ),
    Case("runs export -o folder", lambda w: ["runs", "export", _finished_run(w), "-o", "."], "is a folder"),
    Case(
        "runs export under a file",
        lambda w: ["runs", "export", _finished_run(w), "-o", f"{_a_file(w)}/x.parquet"],
        "is a file",
    ),
    Case(
        "runs export read-only",
        lambda w: ["runs", "export", _finished_run(w), "-o", f"{_read_only_folder(w)}/x.parquet"],
        "cannot write",
        needs_non_root=True,
    ),
    Case("runs export odd suffix", lambda w: ["runs", "export", _finished_run(w), "-o", "x.txt"], ".csv or .parquet"),
    Case("analyze empty csv", lambda w: ["analyze", "-o", "out", "--responses", _empty_csv(w)], "is empty"),
    Case(
        "judge validate empty labels",
        lambda w: ["judge", "validate", "--labels", _empty_csv(w), "--responses", "empty.csv", "--judge", "lexicon"],
        "is empty",
    ),
    Case("translations import empty csv", lambda w: ["translations", "import", _empty_csv(w)], "is empty"),
    Case("groundtruth fetch bad url", lambda w: ["groundtruth", "fetch", "--base-url", "notaurl"], "not a URL"),
    # item 7: size bounds
    Case(
        "wvs prompts 10^9",
        lambda w: ["run", _experiment(w, GOOD.replace("= 2\n", "= 1000000000\n")), "--dry-run"],
        "at most 100000",
    ),
    Case(
        "vsm repeats 10^6",
        lambda w: [
            "run",
            _experiment(
                w,
                GOOD.replace('probe = "wvs"', 'probe = "vsm"').replace(
                    "[wvs]\nprompts_per_language = 2", "[vsm]\nrepeats = 1000000"
                ),
            ),
            "--dry-run",
        ],
        "at most 100",
    ),
    Case(
        "statements samples 10^6",
        lambda w: [
            "run",
            _experiment(
                w,
                GOOD.replace('probe = "wvs"', 'probe = "statements"').replace(
                    "[wvs]\nprompts_per_language = 2", "[statements]\nevaluation_samples = 1000000"
                ),
            ),
            "--dry-run",
        ],
        "at most 50",
    ),
    Case("limit 0", lambda w: ["run", _experiment(w), "--limit", "0"], "positive"),
    # experiment files checked by hand before
    Case("bad language", _edit('languages = ["en"]', 'languages = ["xx"]'), "xx"),
    Case("unknown backend", _edit('backend = "mock"', 'backend = "nosuch"'), "unknown backend"),
    Case("embedded is not a backend", _edit('backend = "mock"', 'backend = "embedded"'), "llamacpp"),
    Case(
        "missing key variable",
        _edit('backend = "mock"', 'backend = "openai"\napi_key_env = "CULTURALIGN_TEST_UNSET_KEY_VAR"'),
        "CULTURALIGN_TEST_UNSET_KEY_VAR",
    ),
    Case(
        "unreachable server",
        lambda w: _edit('backend = "mock"', f'backend = "openai"\nbase_url = "http://127.0.0.1:{_closed_port()}/v1"')(
            w
        ),
        "models[0]",
    ),
    Case("broken toml", lambda w: ["run", _experiment(w, GOOD + "\n[[models\n")], "not valid TOML"),
    Case("unknown field", _edit("seed = 1", "seed = 1\nsede = 2"), "unknown field"),
    Case("missing experiment", lambda w: ["run", "nosuch.toml"], "not found"),
    Case("unknown option", _edit('backend = "mock"', 'backend = "mock"\noptions = { mdoe = "list" }'), "'mode'"),
    Case("bad option value", _edit('backend = "mock"', 'backend = "mock"\noptions = { fail_rate = 2 }'), "fail_rate"),
    Case(
        "two identical models",
        _edit(
            'backend = "mock"',
            'backend = "mock"\nmodel = "m"\n\n[[models]]\nname = "mock-b"\nbackend = "mock"\nmodel = "m"',
        ),
        "same requests",
    ),
    Case(
        "offline judge without candidate",
        lambda w: [
            "run",
            _experiment(w, GOOD.replace("[wvs]", '[[judges]]\nname = "j"\nbackend = "offline"\n\n[wvs]')),
        ],
        "offline judge",
    ),
    # data files
    Case(
        "groundtruth build from a non-survey file",
        lambda w: ["groundtruth", "build", "--survey", _a_file(w, "notes.txt"), "--output", "gt.parquet"],
        "notes.txt",
    ),
    Case(
        "analyze table missing a column",
        lambda w: [
            "analyze",
            "-o",
            "out",
            "--responses",
            str((w / "r.csv").write_text("model_name,language\nm,en\n") and "r.csv"),
        ],
        "column",
    ),
    Case(
        "analyze store and responses",
        lambda w: ["analyze", "-o", "out", "--store", _finished_run(w), "--responses", _empty_csv(w)],
        "not both",
    ),
    Case("vsm bad scores file", lambda w: ["vsm", "scores", "--scores", _empty_csv(w)], "empty"),
    Case(
        "report of a folder that is no analysis",
        lambda w: ["report", str((w / "plain").mkdir() or "plain"), "-o", "rep"],
        "plain",
    ),
    # command-line usage: one line naming the option and where the help is
    Case("analyze rounds 0", lambda w: ["analyze", "-o", "out", "--rounds", "0", "--store", "s"], "--rounds"),
    Case(
        "analyze rounds 10^9",
        lambda w: ["analyze", "-o", "out", "--rounds", "1000000000", "--store", "s"],
        "--rounds",
    ),
    Case("run without experiment", lambda w: ["run"], "Missing argument"),
    Case("unknown command", lambda w: ["nosuch"], "No such command"),
    Case("limit not a number", lambda w: ["run", _experiment(w), "--limit", "abc"], "--limit"),
    Case("runs of a missing store", lambda w: ["runs", "nosuch.sqlite"], "does not exist"),
]


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root, with a hash of each file's bytes."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir():
            found[rel] = "dir"
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real (mock-backend) run, kept outside each case's folder so that its files are not part of the snapshot."""
    from culturalign.run import run_experiment

    folder = tmp_path_factory.mktemp("finished")
    path = folder / "exp.toml"
    path.write_text(GOOD, encoding="utf-8")
    os.environ.setdefault("CULTURALIGN_GT_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    try:
        run_experiment(path, show_progress=False)
    finally:
        os.environ.pop("CULTURALIGN_GT_BASE_URL", None)
    return folder / "runs" / "bad-input.sqlite"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, tmp_path, monkeypatch, capsys, finished_store):
    if case.needs_non_root and AS_ROOT:
        pytest.skip("root writes into read-only folders; the 'under a file' cases cover the check as root")
    global FINISHED_STORE
    FINISHED_STORE = finished_store
    store_before = hashlib.sha256(finished_store.read_bytes()).hexdigest()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("CULTURALIGN_TEST_UNSET_KEY_VAR", raising=False)
    # Nothing here may reach the network: a fetch of published tables goes to a closed local port.
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    args = case.setup(work)
    before = _snapshot(work)
    try:
        code, out, err = run_cli(args, capsys)
    finally:
        for locked in work.rglob("locked"):
            locked.chmod(0o700)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, out, err)
    assert "Traceback" not in err + out
    assert 1 <= len(lines) <= 2, err
    assert case.message in err, err
    assert _snapshot(work) == before
    assert hashlib.sha256(finished_store.read_bytes()).hexdigest() == store_before


def test_a_folder_that_refuses_writing_stops_a_run_before_any_call(tmp_path, monkeypatch, capsys):
    """The read-only cases above skip as root, whom mode bits do not stop. The check itself does one
    thing, create a scratch file in the nearest existing folder; here that system call is refused
    for one folder, as a read-only mount or an ACL refuses it for anyone."""
    import tempfile

    work = tmp_path / "work"
    (work / "locked").mkdir(parents=True)
    monkeypatch.chdir(work)
    real_mkstemp = tempfile.mkstemp

    def refusing(*args, **kwargs):
        if Path(kwargs.get("dir", "")).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr("culturalign.paths.tempfile.mkstemp", refusing)
    name = _experiment(work, GOOD.replace('output = "runs/bad-input"', 'output = "locked/out"'))
    before = _snapshot(work)
    code, _, err = run_cli(["run", name, "--no-progress"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "output locked/out: cannot write in locked (Permission denied); choose a writable folder" in err
    assert _snapshot(work) == before  # no store: nothing was asked
