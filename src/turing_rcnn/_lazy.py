"""Names of a package that load on first use (PEP 562), so that `import turing_rcnn` and
the CLI's --help and refusals do not pay for torch and scikit-learn up front."""

from __future__ import annotations

from importlib import import_module


def lazy(package: str, where: dict[str, str]):
    """(__getattr__, __dir__) for a package: a name in `where` comes from its module, any
    other name is tried as a submodule."""

    def __getattr__(name: str):
        if name in where:
            value = getattr(import_module(where[name], package), name)
        else:
            try:
                value = import_module(f".{name}", package)
            except ModuleNotFoundError:
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        setattr(import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(import_module(package))) | set(where))

    return __getattr__, __dir__
