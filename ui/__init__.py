"""The web chat (Gradio): its pages, event handlers and serving.

Gradio 6.31 rewrites the type stubs (``.pyi``) of its components inside its own installed
package every time it is imported (``gradio.component_meta.create_or_modify_pyi`` reads and
parses each component's source: 2.5 s of a 5.5 s import on 2 cores). Stubs are for type
checkers, not for a running app, so this package has that step skipped before Gradio loads:
the app starts sooner and never writes into the installed packages.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

STUBS_MODULE = "gradio.component_meta"


class _WithoutStubRewrites(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual; once it has run, its stub writer is a no-op."""

    def find_spec(self, fullname, path, target=None):
        if fullname != STUBS_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if hasattr(module, "create_or_modify_pyi"):
                module.create_or_modify_pyi = lambda *args, **kwargs: None

        spec.loader.exec_module = exec_module
        return spec


if STUBS_MODULE not in sys.modules:  # Gradio imported before this package: too late
    sys.meta_path.insert(0, _WithoutStubRewrites())
