from hypothesis import given, settings
from hypothesis import strategies as st

from kreiswissen.ingest.model import Block, ParsedDocument
from kreiswissen.text.chunker import chunk_document


def _statute() -> ParsedDocument:
    return ParsedDocument(
        title="Satzung über die Erhebung der Hundesteuer",
        blocks=[
            Block("heading", "Inhaltsverzeichnis", 2),
            Block("list_item", "§ 1 Steuergegenstand"),
            Block("heading", "§ 1 Steuergegenstand", 3),
            Block("list_item", "(1) Die Gemeinde erhebt die Hundesteuer nach dieser Satzung."),
            Block("heading", "§ 5 Steuersatz", 3),
            Block("list_item", "(1) Die Steuer beträgt im Kalenderjahr für jeden Hund 108 Euro."),
            Block("list_item", "(2) Für den zweiten Hund beträgt sie 216 Euro."),
        ],
    )


def test_sections_become_paths_and_tables_of_contents_are_skipped() -> None:
    chunks = chunk_document(_statute())
    assert [c.section for c in chunks] == [
        "Satzung über die Erhebung der Hundesteuer › § 1 Steuergegenstand",
        "Satzung über die Erhebung der Hundesteuer › § 5 Steuersatz",
    ]
    assert "216 Euro" in chunks[1].text and "108 Euro" in chunks[1].text


def test_offsets_point_into_the_document_text() -> None:
    doc = _statute()
    for chunk in chunk_document(doc):
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text


def test_implicit_paragraph_headings_and_pages_split_chunks() -> None:
    doc = ParsedDocument(title="Gebührenordnung", blocks=[
        Block("paragraph", "§ 2 Gebührenhöhe", page=1),
        Block("paragraph", "Die Gebühr beträgt 20 Euro.", page=1),
        Block("paragraph", "Sie ist sofort fällig.", page=2),
    ])
    chunks = chunk_document(doc)
    assert [(c.section, c.page) for c in chunks] == [
        ("Gebührenordnung › § 2 Gebührenhöhe", 1), ("Gebührenordnung › § 2 Gebührenhöhe", 2)]


def test_long_blocks_are_cut_at_sentences() -> None:
    sentence = "Der Hundehalter muss die Steuermarke sichtbar am Halsband befestigen. "
    doc = ParsedDocument(title="T", blocks=[Block("paragraph", sentence * 40)])
    chunks = chunk_document(doc, max_chars=500, min_chars=100)
    assert len(chunks) > 3
    assert all(len(c.text) <= 500 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["heading", "paragraph", "list_item"]), st.text(min_size=1, max_size=700),
                          st.integers(1, 4)), max_size=25))
def test_every_chunk_is_a_bounded_exact_slice(items: list[tuple[str, str, int]]) -> None:
    blocks = [Block(kind, text, level) for kind, text, level in items]  # type: ignore[arg-type]
    doc = ParsedDocument(title="T", blocks=blocks)
    for chunk in chunk_document(doc, max_chars=300, min_chars=50):
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text
        assert len(chunk.text) <= 300
