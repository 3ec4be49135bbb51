"""Language detection and follow-up rewriting (pure functions)."""

import pytest

from rag.answer.followup import is_follow_up, standalone_question
from rag.text.language import detect_language


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Kapan kelima produk itu mulai dipasarkan?", "id"),
        ("Berapa pengusaha digital yang akan diciptakan setiap tahun?", "id"),
        ("Who will receive training from Alibaba?", "en"),
        ("When will the products be sold in China?", "en"),
        ("Welche Produkte werden verkauft?", "en"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text)[0] == expected


def test_forced_language_wins():
    assert detect_language("Who is Rudiantara?", forced="id") == ("id", "")


@pytest.mark.parametrize(
    "question, follow",
    [
        ("Kapan mulai dipasarkan?", True),
        ("Who are they?", True),
        ("Siapa Menteri Koordinator Bidang Perekonomian?", False),
        ("Which instant noodle brand will be sold through Alibaba?", False),
    ],
)
def test_is_follow_up(question, follow):
    assert is_follow_up(question) is follow


def test_a_second_follow_up_keeps_the_topic():
    history = ["Produk apa yang dijual lewat Alibaba?"]
    history.append(standalone_question("Kapan?", history))
    assert (
        standalone_question("Di mana?", history)
        == "Di mana? (Produk apa yang dijual lewat Alibaba?)"
    )
