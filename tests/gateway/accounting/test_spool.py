"""The PG ledger's local journal on its own (no PostgreSQL): bounded size, what a restart replays, slots."""

from __future__ import annotations

from pathlib import Path

from gateway.accounting.spool import Journal


def _row(i: int) -> tuple[object, ...]:
    return (f"ex{i:06d}", 1.5 + i, None, "claude", 200, "x" * 200)


def test_journal_stays_bounded_under_steady_writes(tmp_path: Path) -> None:
    bound = 64 * 1024
    j = Journal(tmp_path / "ledger.sqlite3", max_bytes=bound)
    biggest = 0
    for i in range(5000):  # ~1.2 MB written in all; committed in batches of 10 a little behind the writes
        j.append(_row(i))
        if j.pending >= 10:
            j.committed(10)
        biggest = max(biggest, j.path.stat().st_size)
    assert j.rotations > 0
    assert biggest <= bound + 16 * 300, f"the journal grew to {biggest} bytes (bound {bound})"
    j.close()


def test_a_restart_replays_exactly_the_rows_not_committed(tmp_path: Path) -> None:
    j = Journal(tmp_path / "ledger.sqlite3", max_bytes=8 * 1024)
    for i in range(200):
        j.append(_row(i))
        if i % 7 == 6:
            j.committed(j.pending)  # everything so far is in PostgreSQL
    pending = j.pending
    assert 0 < pending < 7
    j.close()  # a crash: no final watermark
    again = Journal(tmp_path / "ledger.sqlite3", max_bytes=8 * 1024)
    assert [r[0] for r in again.leftover] == [f"ex{i:06d}" for i in range(200 - pending, 200)]
    assert again.leftover[0] == _row(200 - pending)
    again.replayed()
    again.close()
    third = Journal(tmp_path / "ledger.sqlite3")
    assert third.leftover == [], "rows replayed once were offered again"
    third.close()


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    j = Journal(tmp_path / "ledger.sqlite3")
    j.append(_row(1))
    j.append(_row(2))
    path = j.path
    j.close()
    with path.open("ab") as f:
        f.write(b'{"s": 3, "r": ["ex0')  # a write cut short: its writer never returned
    again = Journal(tmp_path / "ledger.sqlite3")
    assert [r[0] for r in again.leftover] == ["ex000001", "ex000002"]
    again.close()


def test_instances_sharing_a_state_dir_take_their_own_slots(tmp_path: Path) -> None:
    a = Journal(tmp_path / "ledger.sqlite3")
    b = Journal(tmp_path / "ledger.sqlite3")
    assert a.path != b.path
    b.append(_row(1))
    b.close()  # b dies with a row spooled; the next instance takes its slot and replays it
    c = Journal(tmp_path / "ledger.sqlite3")
    assert c.path == b.path and [r[0] for r in c.leftover] == ["ex000001"]
    a.close()
    c.close()


def test_rows_survive_a_json_round_trip_unchanged(tmp_path: Path) -> None:
    row = ("id", 1732780000.123456, None, 2**40, -0.0, "ünï\n\"", 0)
    j = Journal(tmp_path / "ledger.sqlite3")
    j.append(row)
    j.close()
    again = Journal(tmp_path / "ledger.sqlite3")
    assert again.leftover == [row]
    again.close()


def test_a_failed_append_fails_its_writer_and_leaves_no_torn_line(tmp_path: Path) -> None:
    import pytest

    from gateway.errors import LedgerWriteFailed

    j = Journal(tmp_path / "ledger.sqlite3")
    j.append(_row(1))
    j.close()  # the file descriptor is gone: the next write fails like a full disk would
    with pytest.raises(LedgerWriteFailed):
        j.append(_row(2))
    again = Journal(tmp_path / "ledger.sqlite3")
    assert [r[0] for r in again.leftover] == ["ex000001"]
    again.close()
