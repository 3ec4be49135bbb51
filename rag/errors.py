"""The errors the assistant raises on purpose.

Every message says what went wrong and how to fix it. They become exit codes (CLI) or
messages (UI) only at those boundaries; nothing below them prints or exits.
"""


class RagError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = 1


class InputError(RagError):
    """The user gave something unusable: an empty question, a missing or binary file..."""

    exit_code = 2


class FetchError(InputError):
    """A URL could not be read: a refused address, an HTTP error, not a web page, too large,
    too slow, or a page without article text."""


class ConfigError(RagError):
    """A setting names something unknown (a backend, a language) or is malformed."""

    exit_code = 2


class IndexMissingError(RagError):
    """No index has been built yet at the configured path."""


class IndexMismatchError(RagError):
    """The index on disk was built with other settings (model, chunking, format)."""


class IndexCorruptError(RagError):
    """An index file is truncated or altered: its checksum does not match the manifest."""


class ModelUnavailableError(RagError):
    """A model cannot be provisioned from the packages installed here."""


class BackendError(RagError):
    """The LLM backend failed: server unreachable, timed out or died mid-answer."""


class BusyError(RagError):
    """Every slot of the model is answering and the waiting line is full: try again soon."""


class IndexBuildError(RagError):
    """A distributed index build failed after Ray's retries; the previous index is intact."""
