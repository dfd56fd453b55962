"""-o onto devices, FIFOs, symlinks, /proc, missing directories (hvdyn.core.fileio)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from hvdyn.core.errors import OutputPathError
from hvdyn.core.fileio import check_output, write_atomic
from tests.worlds import Make, World

from .conftest import vm


@pytest.fixture
def world(make_world: Make) -> World:
    return make_world({"hv1": "vms:\n" + vm("a")})


def audit(world: World, output: str | Path) -> tuple[int, str]:
    r = world.hvdyn("audit", world.policy, "--format", "json", "-o", output)
    assert r.traceback_free, r.exception
    return r.exit_code, r.stderr


def test_a_null_device_node_stays_a_device(world: World, tmp_path: Path) -> None:
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    code, err = audit(world, node)
    assert code == 2, err
    assert stat.S_ISCHR(os.lstat(node).st_mode), "the device node was replaced by a file"


def test_another_device_is_refused_and_kept(world: World, tmp_path: Path) -> None:
    node = tmp_path / "zero"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    code, err = audit(world, node)
    assert code == 3 and "character device" in err
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_fifo_without_reader_is_refused_not_hung(world: World, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, err = audit(world, fifo)
    assert code == 3 and "FIFO with no reader" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_with_a_reader_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the reader is there before the write
    reader = threading.Thread(target=lambda: got.append(_read_all(fd)))
    write_atomic(fifo, "report\n")
    reader.start()
    reader.join(10)
    assert got == [b"report\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, True)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_dev_fd_paths_write_to_the_descriptor(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        target = check_output(Path(f"/dev/fd/{write_end}"))
        assert target.fd == write_end and not target.replace
        write_atomic(Path(f"/dev/fd/{write_end}"), "through\n")
        assert os.read(read_end, 100) == b"through\n"
    finally:
        os.close(read_end)
        os.close(write_end)
    assert check_output(Path("/dev/stdout")).fd == 1


def test_a_symlink_is_refused_and_its_target_untouched(world: World, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, err = audit(world, link)
    assert code == 3 and "symbolic link" in err
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("", "directory"),
        ("/proc/version", "cannot create a file in /proc"),
        ("/proc/nope/x.json", "does not exist"),
    ],
)
def test_odd_paths_exit_3_cleanly(world: World, output: str, says: str) -> None:
    code, err = audit(world, output)
    assert code == 3 and says in err, err


def test_missing_parent_directories_are_not_created(world: World, tmp_path: Path) -> None:
    code, err = audit(world, tmp_path / "new" / "a" / "b" / "c.json")
    assert code == 3 and "does not exist" in err
    assert not (tmp_path / "new").exists()


def test_a_regular_file_is_replaced_atomically_with_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    out.write_text("old", encoding="utf-8")
    write_atomic(out, "new")
    assert out.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]  # no temp file left


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match="is a directory"):
        write_atomic(tmp_path, "x")


def test_a_bad_output_path_fails_before_any_host_is_contacted(world: World) -> None:
    for args in (("audit", world.policy, "-o", "/proc/nope/a.json"),
                 ("plan", world.policy, "--save-snapshot", world.root / "no" / "s.json")):
        r = world.hvdyn(*args)
        assert r.exit_code == 3 and "does not exist" in r.stderr, r.stderr
    assert not (world.state / "sim").exists()  # no simulated host was even read


def test_a_replaced_file_keeps_its_own_mode(tmp_path: Path) -> None:
    out = tmp_path / "journal.csv"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o600)  # the user made it private: a rewrite must not open it to everyone
    write_atomic(out, "new")
    assert out.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_new_file_honours_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_atomic(tmp_path / "private.html", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "private.html").stat().st_mode) == 0o600
    write_atomic(tmp_path / "shared.html", "x")  # the usual umask 022: readable by others
    assert stat.S_IMODE((tmp_path / "shared.html").stat().st_mode) == 0o644 & ~previous


def test_a_path_ending_in_a_slash_is_not_written_as_a_file(world: World, tmp_path: Path) -> None:
    """`-o out/` means a directory: writing a file named `out` is not what was asked."""
    code, err = audit(world, f"{tmp_path}/out/")
    assert code == 3 and "give a file name" in err, err
    assert not (tmp_path / "out").exists()
    code, err = audit(world, f"{tmp_path}/")  # an existing directory: click says so
    assert code == 3 and "is a directory" in err, err
    r = world.hvdyn("plan", world.policy, "--save-snapshot", f"{tmp_path}/snap/")
    assert r.traceback_free and r.exit_code == 3 and "give a file name" in r.stderr, r.stderr
    assert not (tmp_path / "snap").exists()
