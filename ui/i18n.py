"""The app's own words in Indonesian and English, and which component shows which of them.

What it does: holds every label, button text and message the app writes itself, keyed by
a short name, in both languages (``t("id", "send") == "Kirim"``); picks the interface
language from the browser's preferred languages; remembers which component property shows
which text (``Labels``) so that switching language relabels the whole app in one update.

What it does not do: translate what users, articles or the model wrote (that is shown as
it is), or the pipeline's own error messages, which are English and shown verbatim.

>>> t("id", "queued", n=2)
'Antre: pertanyaan Anda dijawab setelah jawaban yang sedang ditulis (2 menunggu).'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

DEFAULT = "en"
LANGS = ("id", "en")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "## Ask the news articles",
        "intro": "Answers cite the passages they come from; click a marker such as [1] to "
        "see its source.",
        "ui_lang": "Interface language",
        "tab_chat": "Chat",
        "tab_articles": "Articles",
        "ask_about": "Ask about",
        "all_articles": "All articles",
        "placeholder": "Ask about the articles…",
        "chat_placeholder": "Ask about the articles, in Bahasa Indonesia or English.",
        "send": "Send",
        "stop": "Stop",
        "examples": "Example questions",
        "settings": "Settings (answer language, passages, models)",
        "answer_lang": "Answer language",
        "lang_auto": "Same as the question",
        "top_k": "Passages to retrieve (top-k)",
        "show_rewritten": "Show rewritten question",
        "new_conversation": "New conversation",
        "whole_article": "Show the whole article",
        "empty": "Type a question first.",
        "too_long": "The question is {n:,} characters long; keep it under {limit:,} "
        "(ask about one thing at a time).",
        "queued": "Queued: your question is asked after the answer being written ({n} waiting).",
        "stopping": "Stopping…",
        "searching": "Searching the articles…",
        "waiting_model": "Waiting for the model: {n} question(s) ahead of yours…",
        "waiting": "Waiting: asked after the current answer.",
        "stopped": "Stopped: this answer is incomplete and its citations were not checked.",
        "failed": "No answer: {error}",
        "no_support": "No sentence of the articles supports this answer: check it before "
        "relying on it.",
        "rewritten": "Rewritten question: {q}",
        "restricted_to": "Only in: {name}",
        "restriction_banner": "Questions are restricted to one article: {name}. "
        "Choose “All articles” under “Ask about” to search them all.",
        "refusal": "Not in the articles",
        "copy": "Copy",
        "regenerate": "Regenerate",
        "helpful": "Helpful",
        "not_helpful": "Not helpful",
        "feedback_note": "Note (optional)",
        "feedback_note_hint": "What was wrong or missing?",
        "feedback_save": "Save note",
        "feedback_none": "That answer is no longer in this conversation; rate another one.",
        "feedback_saved_up": "Thanks: answer {n} is marked helpful (kept on this machine).",
        "feedback_saved_down": "Thanks: answer {n} is marked not helpful (kept on this "
        "machine). A note helps to fix it.",
        "feedback_noted": "Note saved.",
        "download_md": "Download as Markdown",
        "download_json": "Download as JSON",
        "conversations": "Past conversations (kept in this browser)",
        "conversation_delete": "Delete conversation",
        "copy_sources": "Sources:",
        "copy_stopped": "(stopped before the end)",
        "retrieve": "retrieve",
        "generate": "generate",
        "total": "total",
        "sources_empty": "Ask a question: its sources appear here.",
        "sources_for": "Sources of question {n}: “{q}”",
        "cited": "Cited passages",
        "no_cited": "No passage is cited for this answer.",
        "others": "Other retrieved passages ({n})",
        "in_progress": "Retrieved passages (answer in progress)",
        "whole": "Whole article",
        "back": "↑ Back to the answer",
        "paragraph": "paragraph",
        "page": "p.",
        "score": "score",
        "card_one": "Article",
        "card_many": "{n} articles",
        "card_more": "and {n} more (see the Articles tab)",
        "view_article": "View article",
        "words": "{n:,} words",
        "passages": "{n} passages",
        "language": "language",
        "lang_id": "Indonesian",
        "lang_en": "English",
        "lang_unknown": "unknown language",
        "paste_title": "Title",
        "paste_text": "Article text",
        "add_paste": "Add pasted article",
        "upload": "Or upload a file: {types} (text up to 1 MB, web pages up to 5 MB, PDF and Word "
        "files up to 20 MB; a PDF up to 200 pages, with a text layer)",
        "url": "Or the address of a news page",
        "url_placeholder": "https://…",
        "add_url": "Add page",
        "card_by": "by {author}",
        "summarize": "Summarize",
        "add_file": "Add uploaded file",
        "remove_pick": "Article to remove",
        "remove": "Remove…",
        "remove_yes": "Yes, remove it",
        "remove_no": "Cancel",
        "remove_confirm": "Remove “{name}” ({n} passages) from the index? Questions will no "
        "longer find it; add it again to bring it back.",
        "remove_none": "Choose an article to remove first.",
        "remove_last": "“{name}” is the only article; add another one before removing it "
        "(questions need at least one article).",
        "removed": "Removed “{name}”; {docs} article(s) remain.",
        "added": "{verb} “{name}” (id {id}, {n} passage(s), language {language}): you can ask "
        "about it now.",
        "verb_added": "Added",
        "verb_replaced": "Replaced",
        "unchanged": "“{name}” is already indexed with this text: nothing to do.",
        "th_id": "id",
        "th_name": "name",
        "th_lang": "language",
        "th_size": "size",
        "th_passages": "passages",
        "models": "Models in use",
        "llm": "LLM",
        "embeddings": "Embeddings",
    },
    "id": {
        "title": "## Tanya artikel berita",
        "intro": "Jawaban mengutip bagian artikel yang menjadi sumbernya; klik penanda "
        "seperti [1] untuk melihat sumbernya.",
        "ui_lang": "Bahasa antarmuka",
        "tab_chat": "Obrolan",
        "tab_articles": "Artikel",
        "ask_about": "Tanya tentang",
        "all_articles": "Semua artikel",
        "placeholder": "Ketik pertanyaan tentang artikel, dalam Bahasa Indonesia atau Inggris…",
        "chat_placeholder": "Tanyakan isi artikel, dalam Bahasa Indonesia atau Inggris.",
        "send": "Kirim",
        "stop": "Berhenti",
        "examples": "Contoh pertanyaan",
        "settings": "Pengaturan (bahasa jawaban, bagian, model)",
        "answer_lang": "Bahasa jawaban",
        "lang_auto": "Sama dengan pertanyaan",
        "top_k": "Jumlah bagian yang diambil (top-k)",
        "show_rewritten": "Tampilkan pertanyaan yang ditulis ulang",
        "new_conversation": "Percakapan baru",
        "whole_article": "Tampilkan seluruh artikel",
        "empty": "Ketik pertanyaan dulu.",
        "too_long": "Pertanyaan ini {n:,} karakter; buat kurang dari {limit:,} "
        "(tanyakan satu hal sekaligus).",
        "queued": "Antre: pertanyaan Anda dijawab setelah jawaban yang sedang ditulis "
        "({n} menunggu).",
        "stopping": "Menghentikan…",
        "searching": "Mencari di artikel…",
        "waiting_model": "Menunggu model: {n} pertanyaan lagi sebelum pertanyaan Anda…",
        "waiting": "Menunggu: dijawab setelah jawaban saat ini.",
        "stopped": "Dihentikan: jawaban ini belum lengkap dan kutipannya belum diperiksa.",
        "failed": "Tidak ada jawaban: {error}",
        "no_support": "Tidak ada kalimat artikel yang mendukung jawaban ini: periksa dulu "
        "sebelum memakainya.",
        "rewritten": "Pertanyaan yang ditulis ulang: {q}",
        "restricted_to": "Hanya di: {name}",
        "restriction_banner": "Pertanyaan dibatasi pada satu artikel: {name}. "
        "Pilih “Semua artikel” di “Tanya tentang” untuk mencari di semuanya.",
        "refusal": "Tidak ada di artikel",
        "copy": "Salin",
        "regenerate": "Jawab ulang",
        "helpful": "Membantu",
        "not_helpful": "Tidak membantu",
        "feedback_note": "Catatan (opsional)",
        "feedback_note_hint": "Apa yang salah atau kurang?",
        "feedback_save": "Simpan catatan",
        "feedback_none": "Jawaban itu tidak ada lagi di percakapan ini; nilai jawaban lain.",
        "feedback_saved_up": "Terima kasih: jawaban {n} ditandai membantu (disimpan di mesin ini).",
        "feedback_saved_down": "Terima kasih: jawaban {n} ditandai tidak membantu (disimpan di "
        "mesin ini). Catatan membantu memperbaikinya.",
        "feedback_noted": "Catatan disimpan.",
        "download_md": "Unduh sebagai Markdown",
        "download_json": "Unduh sebagai JSON",
        "conversations": "Percakapan sebelumnya (disimpan di peramban ini)",
        "conversation_delete": "Hapus percakapan",
        "copy_sources": "Sumber:",
        "copy_stopped": "(dihentikan sebelum selesai)",
        "retrieve": "pencarian",
        "generate": "penulisan",
        "total": "total",
        "sources_empty": "Ajukan pertanyaan: sumbernya muncul di sini.",
        "sources_for": "Sumber pertanyaan {n}: “{q}”",
        "cited": "Bagian yang dikutip",
        "no_cited": "Tidak ada bagian yang dikutip untuk jawaban ini.",
        "others": "Bagian lain yang ditemukan ({n})",
        "in_progress": "Bagian yang ditemukan (jawaban sedang ditulis)",
        "whole": "Seluruh artikel",
        "back": "↑ Kembali ke jawaban",
        "paragraph": "paragraf",
        "page": "hlm.",
        "score": "skor",
        "card_one": "Artikel",
        "card_many": "{n} artikel",
        "card_more": "dan {n} lainnya (lihat tab Artikel)",
        "view_article": "Lihat artikel",
        "words": "{n:,} kata",
        "passages": "{n} bagian",
        "language": "bahasa",
        "lang_id": "Indonesia",
        "lang_en": "Inggris",
        "lang_unknown": "bahasa tidak dikenal",
        "paste_title": "Judul",
        "paste_text": "Teks artikel",
        "add_paste": "Tambahkan artikel yang ditempel",
        "upload": "Atau unggah berkas: {types} (teks maksimal 1 MB, halaman web maksimal 5 MB, PDF "
        "dan Word maksimal 20 MB; PDF maksimal 200 halaman, dengan lapisan teks)",
        "url": "Atau alamat halaman berita",
        "url_placeholder": "https://…",
        "add_url": "Tambahkan halaman",
        "card_by": "oleh {author}",
        "summarize": "Ringkas",
        "add_file": "Tambahkan berkas yang diunggah",
        "remove_pick": "Artikel yang dihapus",
        "remove": "Hapus…",
        "remove_yes": "Ya, hapus",
        "remove_no": "Batal",
        "remove_confirm": "Hapus “{name}” ({n} bagian) dari indeks? Pertanyaan tidak akan "
        "menemukannya lagi; tambahkan kembali untuk memulihkannya.",
        "remove_none": "Pilih dulu artikel yang akan dihapus.",
        "remove_last": "“{name}” adalah satu-satunya artikel; tambahkan artikel lain sebelum "
        "menghapusnya (pertanyaan butuh minimal satu artikel).",
        "removed": "“{name}” dihapus; tersisa {docs} artikel.",
        "added": "{verb} “{name}” (id {id}, {n} bagian, bahasa {language}): Anda bisa "
        "menanyakannya sekarang.",
        "verb_added": "Ditambahkan",
        "verb_replaced": "Diganti",
        "unchanged": "“{name}” sudah diindeks dengan teks ini: tidak ada yang berubah.",
        "th_id": "id",
        "th_name": "nama",
        "th_lang": "bahasa",
        "th_size": "ukuran",
        "th_passages": "bagian",
        "models": "Model yang dipakai",
        "llm": "LLM",
        "embeddings": "Embedding",
    },
}

# Runs in the browser when the page loads: the language chosen earlier on this browser,
# else the first of the browser's preferred languages we speak, else English.
DETECT_JS = """(lang, ...rest) => {
  const saved = window.localStorage.getItem('rag-ui-lang');
  const prefs = (navigator.languages || [navigator.language]).map((l) => l.slice(0, 2));
  const found = saved || prefs.find((l) => l === 'id' || l === 'en') || 'en';
  return [found, ...rest];
}"""
REMEMBER_JS = "(lang) => { window.localStorage.setItem('rag-ui-lang', lang); return lang; }"


def t(lang: str, key: str, **values: Any) -> str:
    """The text for key in lang (English when lang is unknown), with values filled in."""
    text = TEXT.get(lang, TEXT[DEFAULT])[key]
    return text.format(**values) if values else text


def pick_language(preferred: str | None) -> str:
    """An Accept-Language-like string -> the interface language to use.

    >>> pick_language("id-ID,id;q=0.9,en;q=0.8"), pick_language("fr-FR"), pick_language(None)
    ('id', 'en', 'en')
    """
    for part in (preferred or "").split(","):
        code = part.strip()[:2].lower()
        if code in LANGS:
            return code
    return DEFAULT


class Labels:
    """Which property of which component shows which text, to relabel them all at once."""

    def __init__(self) -> None:
        self._bound: list[tuple[Any, dict[str, str | Callable[[str], Any]]]] = []

    def make(self, cls: type, texts: dict[str, str | Callable[[str], Any]], **kwargs: Any):
        """cls(**kwargs) with each of texts' properties in the default language, bound.

        A text is a key of TEXT, or a function of the language (e.g. translated choices).
        """
        component = cls(**self._props(DEFAULT, texts), **kwargs)
        self._bound.append((component, texts))
        return component

    def components(self) -> list:
        return [c for c, _ in self._bound]

    def updates(self, lang: str) -> dict:
        """{component: update} setting every bound property to its text in lang."""
        return {c: gr.update(**self._props(lang, texts)) for c, texts in self._bound}

    @staticmethod
    def _props(lang: str, texts: dict[str, str | Callable[[str], Any]]) -> dict[str, Any]:
        return {
            prop: text(lang) if callable(text) else t(lang, text) for prop, text in texts.items()
        }
