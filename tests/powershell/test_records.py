"""Golden HVDYN1 record streams: good ones parse; every bad one is a ProtocolError
naming host and script (never another exception type)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.core.errors import ProtocolError
from hvdyn.powershell.record_parser import MAX_OUTPUT_CHARS, parse_stream
from hvdyn.powershell.records import (
    BalancerRecord,
    ErrorRecord,
    HostRecord,
    ResultRecord,
    SampleRecord,
    VmRecord,
    encode_stream,
)

STREAMS = Path(__file__).resolve().parent.parent / "data" / "streams"
HOST = "hv01.example"


def read(name: str) -> str:
    # newline="" keeps CR/LF exactly as a transport would hand them over
    with open(STREAMS / name, encoding="utf-8", newline="") as fh:
        return fh.read()


def test_good_discover() -> None:
    out = parse_stream(read("good_discover.txt"), host=HOST, script="discover")
    assert out.ps_version == "2.0"
    assert len(out.of_type(HostRecord)) == 1
    vms = out.of_type(VmRecord)
    assert [v.state for v in vms] == [2, 3]
    assert vms[0].name == "web01 \u2019quoted\u2019"  # \\u escapes decode back
    assert vms[0].settings.maximum_mb == 8192
    assert out.other_lines == ("WARNING: something chatty",)


def test_good_apply() -> None:
    out = parse_stream(read("good_apply.txt"), host=HOST, script="apply")
    results = out.of_type(ResultRecord)
    assert [r.outcome for r in results] == ["applied", "pending"]
    assert results[0].settings is not None and results[1].settings is None
    assert results[1].code == 32775


def test_good_collect() -> None:
    out = parse_stream(read("good_collect.txt"), host=HOST, script="collect")
    assert len(out.of_type(SampleRecord)) == 1
    assert out.of_type(BalancerRecord)[0].counters["AvailableMemory"] == 10240
    assert out.of_type(SampleRecord)[0].counters["AddedMemory"] is None
    assert out.script_errors == [ErrorRecord(id=None, message="counter set missing", code=None)]


def test_bom_and_lf_only_accepted() -> None:
    out = parse_stream(read("bom_and_lf_only.txt"), host=HOST, script="discover")
    assert len(out.of_type(HostRecord)) == 1


BAD = {
    "truncated_no_end.txt": ("discover", "truncated"),
    "truncated_mid_line.txt": ("discover", "JSON"),
    "count_mismatch.txt": ("discover", "counts 7"),
    "garbage_only.txt": ("discover", "no HVDYN1 records"),
    "empty.txt": ("discover", "no HVDYN1 records"),
    "non_json_record.txt": ("discover", "not valid JSON"),
    "json_array_record.txt": ("discover", "JSON object"),
    "type_not_str.txt": ("discover", "JSON object"),
    "unknown_record_type.txt": ("discover", "unknown record type"),
    "wrong_field_type_str_for_int.txt": ("discover", "'total_mb' has str"),
    "wrong_field_type_bool_for_int.txt": ("discover", "'startup_mb' has bool"),
    "wrong_field_type_int_for_bool.txt": ("discover", "'clustered' has int"),
    "missing_field.txt": ("discover", "lacks key 'weight'"),
    "bad_outcome.txt": ("apply", "outcome"),
    "settings_not_object.txt": ("apply", "settings"),
    "sample_ids_not_list.txt": ("collect", "ids"),
    "counter_not_int.txt": ("collect", "counter"),
    "counter_float.txt": ("collect", "counter"),
    "counters_not_object.txt": ("collect", "counters"),
    "non_ascii_record.txt": ("discover", "non-ASCII"),
    "wrong_script.txt": ("discover", "from script 'apply'"),
    "no_begin_first.txt": ("discover", "expected 'begin'"),
    "second_begin.txt": ("discover", "second begin"),
    "record_after_end.txt": ("discover", "after the end"),
    "end_count_not_int.txt": ("discover", "counts '2'"),
    "nan_literal.txt": ("discover", "free_mb"),
    "huge_int.txt": ("discover", "line"),
    "deep_nesting.txt": ("discover", "line"),
    "begin_script_missing.txt": ("discover", "from script None"),
}


def test_every_stream_file_is_covered() -> None:
    files = {p.name for p in STREAMS.iterdir()}
    good = {"good_discover.txt", "good_apply.txt", "good_collect.txt", "bom_and_lf_only.txt"}
    assert files == set(BAD) | good


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_stream_is_protocol_error(name: str) -> None:
    script, needle = BAD[name]
    try:
        parse_stream(read(name), host=HOST, script=script)
    except ProtocolError as exc:
        text = str(exc)
        assert exc.host == HOST and exc.script == script
        assert text.startswith(f"{HOST}: script {script!r}: "), text
        assert needle in text, text
    except Exception as exc:  # any other type is the defect this test exists for
        pytest.fail(f"{name}: {type(exc).__name__} instead of ProtocolError: {exc}"[:500])
    else:
        pytest.fail(f"{name}: accepted")


def test_huge_output_refused_cheaply() -> None:
    body = encode_stream("collect", [])
    huge = body + ("x" * 1023 + "\n") * (MAX_OUTPUT_CHARS // 1024 + 1)
    with pytest.raises(ProtocolError) as info:
        parse_stream(huge, host=HOST, script="collect")
    assert "characters" in str(info.value) and info.value.host == HOST


def test_large_valid_output_under_limit_parses() -> None:
    sample = {"t": "sample", "name": "vm", "ids": [], "ts": "t", "counters": {"a": 1}}
    out = parse_stream(encode_stream("collect", [sample] * 20000), host=HOST, script="collect")
    assert len(out.records) == 20000


def test_unpaired_surrogates_in_names_become_replacement_characters() -> None:
    """Windows names may hold an unpaired UTF-16 surrogate; it must not reach a terminal raw."""
    from hvdyn.powershell.record_parser import parse_stream
    from hvdyn.powershell.records import ErrorRecord

    out = (
        'HVDYN1 {"t":"begin","script":"discover","ps":"2.0"}\n'
        'HVDYN1 {"t":"error","id":null,"message":"a\\ud800b \\ud83d\\ude00","code":null}\n'
        'HVDYN1 {"t":"end","records":2}\n'
    )
    (record,) = parse_stream(out, host="hv01", script="discover").of_type(ErrorRecord)
    assert record.message == "a\ufffdb \U0001f600"
    record.message.encode("utf-8")  # printable and writable everywhere
