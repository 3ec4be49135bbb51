"""The Articles tab: the article list, adding one (pasted, uploaded, from a URL) and
removing one, wired to ``ui.actions``; each message sits by its button."""

from dataclasses import dataclass

import gradio as gr

from rag.articles.formats import suffixes
from ui import chat_tab
from ui.actions import Actions
from ui.i18n import DEFAULT, Labels, t


@dataclass
class ArticleParts:
    """The Articles tab's components."""

    table: gr.HTML
    title: gr.Textbox
    text: gr.Textbox
    add_text: gr.Button
    paste_status: gr.HTML
    upload: gr.File
    add_file: gr.Button
    upload_status: gr.HTML
    url: gr.Textbox
    add_url: gr.Button
    url_status: gr.HTML
    remove_doc: gr.Dropdown
    remove: gr.Button
    confirm: gr.Column
    confirm_text: gr.HTML
    yes: gr.Button
    no: gr.Button
    remove_status: gr.HTML


def layout(actions: Actions, labels: Labels) -> ArticleParts:
    """The article list, the two ways to add one and removal; messages sit by their button."""
    table = gr.HTML(actions.listing()[0], elem_id="articles", js_on_load=None)
    with gr.Row():
        with gr.Column():
            title = labels.make(gr.Textbox, {"label": "paste_title"}, elem_id="paste-title")
            text = labels.make(gr.Textbox, {"label": "paste_text"}, lines=8, elem_id="paste-text")
            add_text = labels.make(gr.Button, {"value": "add_paste"}, elem_id="add-paste")
            paste_status = gr.HTML("", elem_id="paste-status", js_on_load=None)
        with gr.Column():
            url = labels.make(
                gr.Textbox, {"label": "url", "placeholder": "url_placeholder"}, elem_id="url"
            )
            add_url = labels.make(gr.Button, {"value": "add_url"}, elem_id="add-url")
            url_status = gr.HTML("", elem_id="url-status", js_on_load=None)
            upload = labels.make(
                gr.File,
                {"label": lambda lang: t(lang, "upload", types=" / ".join(suffixes()))},
                type="filepath",
                file_types=suffixes(),
                elem_id="upload",
            )
            add_file = labels.make(gr.Button, {"value": "add_file"}, elem_id="add-file")
            upload_status = gr.HTML("", elem_id="upload-status", js_on_load=None)
    with gr.Row(equal_height=True):
        remove_doc = gr.Dropdown(
            actions.article_choices()[1:],
            value=None,
            label=t(DEFAULT, "remove_pick"),
            elem_id="remove-doc",
            scale=3,
        )
        remove = labels.make(gr.Button, {"value": "remove"}, elem_id="remove", scale=1)
    with gr.Column(visible=False, elem_id="remove-confirm") as confirm:
        confirm_text = gr.HTML("", elem_id="remove-confirm-text", js_on_load=None)
        with gr.Row():
            yes = labels.make(
                gr.Button, {"value": "remove_yes"}, variant="stop", elem_id="remove-yes"
            )
            no = labels.make(gr.Button, {"value": "remove_no"}, elem_id="remove-no")
    remove_status = gr.HTML("", elem_id="remove-status", js_on_load=None)
    return ArticleParts(
        table, title, text, add_text, paste_status, upload, add_file, upload_status,
        url, add_url, url_status, remove_doc, remove, confirm, confirm_text, yes, no, remove_status,
    )  # fmt: skip


def listing_of(c: chat_tab.ChatParts, a: ArticleParts) -> list:
    """The components that list the articles, in the order ``Actions.listing`` fills them."""
    return [a.table, c.doc, a.remove_doc, c.card, c.restriction]


def wire(c: chat_tab.ChatParts, a: ArticleParts, actions: Actions, ui_lang: gr.Radio) -> None:
    """Adding clears its form; removing asks first; each message sits by its button."""
    private = {"api_visibility": "private"}
    listing = listing_of(c, a)
    a.add_text.click(
        actions.add_pasted,
        [a.title, a.text, c.doc, ui_lang],
        [a.paste_status, *listing, a.title, a.text],
        **private,
    )
    a.add_file.click(
        actions.add_uploaded,
        [a.upload, c.doc, ui_lang],
        [a.upload_status, *listing, a.upload],
        **private,
    )
    a.add_url.click(
        actions.add_url, [a.url, c.doc, ui_lang], [a.url_status, *listing, a.url], **private
    )
    a.remove.click(
        actions.ask_remove,
        [a.remove_doc, ui_lang],
        [a.confirm, a.confirm_text, a.remove_status],
        **private,
    )
    a.yes.click(
        actions.remove,
        [a.remove_doc, c.doc, ui_lang],
        [a.remove_status, *listing, a.confirm],
        **private,
    )
    a.no.click(lambda: gr.Column(visible=False), None, a.confirm, **private)
