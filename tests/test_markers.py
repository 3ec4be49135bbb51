"""Markers numbered as they appear (rag.answer.markers): the first citation of any answer is
[1], and the passages and citations follow the renumbering, so the sources panel and the
highlighted spans still lead to the passage that holds each cited sentence."""

from __future__ import annotations

from rag.answer.cite import MARKER, marker_numbers
from rag.answer.markers import by_appearance, numbering
from rag.values import Citation, Hit, Passage
from tests.fakes import fake_pipeline


def hit(rank: int) -> Hit:
    return Hit(Passage(f"d#{rank}", "d", rank, rank * 10, rank * 10 + 9, f"p{rank}"), 0.5, rank)


def citation(marker: int) -> Citation:
    return Citation(marker, f"d#{marker}", "d", marker * 10, marker * 10 + 3, "x")


def test_markers_count_the_passages_in_the_order_the_text_cites_them():
    hits = [hit(r) for r in range(1, 6)]
    text, cites, ranked = by_appearance(
        "Satu [5]. Dua [2, 5]. Tiga [4].", (citation(5), citation(2), citation(4)), hits
    )

    assert text == "Satu [1]. Dua [2, 1]. Tiga [3]."
    assert [c.marker for c in cites] == [1, 2, 3]
    assert [h.passage.id for h in ranked] == ["d#5", "d#2", "d#4", "d#1", "d#3"]
    assert [h.rank for h in ranked] == [1, 2, 3, 4, 5]
    for c in cites:  # each marker still leads to the passage that holds its span
        assert ranked[c.marker - 1].passage.id == c.passage_id


def test_an_answer_already_numbered_by_appearance_is_left_as_it_is():
    hits = [hit(1), hit(2)]
    cites = (citation(1), citation(2))
    assert by_appearance("A [1]. B [2].", cites, hits) == ("A [1]. B [2].", cites, hits)
    assert numbering("Tanpa penanda.") == {}


def test_an_ordinary_answer_cites_its_first_passage_as_1(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    from rag.answer.context import build_context, chat_messages

    system = dict(chat_messages(build_context(pipeline.store, [], None, 4096), "?", "id"))

    def unit(words: str) -> int:
        line = next(x for x in system["system"].splitlines() if words in x)
        return int(line[1 : line.index("]")])

    # the first sentence comes from a passage that retrieval ranks below the second's
    backend.replies = [
        f"Alibaba akan memberikan pelatihan manajemen [{unit('pelatihan manajemen')}]. "
        f"Kominfo mengembangkan program 20 ribu programmer [{unit('20 ribu programmer')}]."
    ]

    answer = pipeline.ask("Apa kata Rudiantara?")

    assert not answer.abstained, answer.signals
    assert [marker_numbers(m) for m in MARKER.finditer(answer.answer)] == [[1], [2]]
    assert [c.marker for c in answer.citations] == [1, 2]
    for c in answer.citations:  # each marker leads to the passage that holds its span
        passage = answer.hits[c.marker - 1].passage
        assert passage.id == c.passage_id and passage.start <= c.start < c.end <= passage.end
    assert "pelatihan manajemen" in answer.hits[0].passage.text
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
