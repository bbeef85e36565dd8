"""The extraction against the labelled protocols (real fixtures, real readers): the issue's target of 0.9
precision and recall on agenda items and vote outcomes, on the development and the held-out labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from kreiswissen.minutes.evaluation import (
    DEFAULT_LABELS,
    HELDOUT_LABELS,
    KOMMUNAL_BLIND_LABELS,
    KOMMUNAL_D_LABELS,
    KOMMUNAL_DEV_LABELS,
    KOMMUNAL_E_LABELS,
    KOMMUNAL_HELDOUT_LABELS,
    evaluate_directory,
    format_table,
    load_packaged,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"


# (labels, folder, suffix, floor): the target is 0.9, and every set meets it. Sets B to E were blind when
# they came and are development data since their errors were read; their first runs are in docs/minutes.md.
SETS = [
    (DEFAULT_LABELS, "", ".txt", 0.9), (DEFAULT_LABELS, "", ".xml", 0.9), (HELDOUT_LABELS, "", ".txt", 0.9),
    (HELDOUT_LABELS, "", ".xml", 0.9),
    # municipal sessions as WebVTT, SRT, text and DOCX, typed and from speech recognition (synthetic, see READMEs)
    (KOMMUNAL_DEV_LABELS, "kommunal", "*", 0.9), (KOMMUNAL_HELDOUT_LABELS, "kommunal", "*", 0.9),
    (KOMMUNAL_BLIND_LABELS, "kommunal2", "*", 0.9), (KOMMUNAL_D_LABELS, "kommunal3", "*", 0.9),
    (KOMMUNAL_E_LABELS, "kommunal4", "*", 0.9),
]


@pytest.mark.parametrize(("labels", "folder", "suffix", "floor"), SETS)
def test_agenda_items_and_votes_reach_the_target(labels: str, folder: str, suffix: str, floor: float) -> None:
    result = evaluate_directory(FIXTURES / folder, load_packaged(labels), suffix)
    print(f"\n{labels} {suffix}\n{format_table(result)}")
    assert result["files"], "no labelled protocol found among the fixtures"
    overall = result["overall"]
    for kind in ("agenda_items", "votes"):
        assert overall[kind]["precision"] >= floor, (kind, format_table(result))
        assert overall[kind]["recall"] >= floor, (kind, format_table(result))
    assert overall["votes"]["outcome_accuracy"] in (None, 1.0) or overall["votes"]["outcome_accuracy"] >= 0.9


def test_every_vote_text_is_verbatim_in_its_segment() -> None:
    from kreiswissen.minutes.extract import extract
    from kreiswissen.minutes.transcripts import read_transcript

    transcript = read_transcript(FIXTURES / "bt_01-143_1951-05-23_excerpt.xml")
    structure = extract(transcript)
    votes = [v for item in structure.agenda_items for v in item.votes] + structure.unassigned_votes
    assert len(votes) >= 10
    for vote in votes:
        segment = transcript.segments[vote.source.segment]
        assert vote.text in " ".join(segment.text.split()) or all(
            part.strip() in segment.text for part in vote.text.split(". ") if part.strip()), vote.text
        assert vote.source.line is not None
