"""``symarray.tensor`` re-exports every submodule's ``__all__``: no clashes."""

import importlib
import pkgutil

import symarray.tensor as T


def _submodules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(T.__path__, "symarray.tensor."):
        if ".rewriting" in info.name or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        names.append(info.name)
    return names


def test_no_two_submodules_export_different_objects_under_one_name() -> None:
    owner: dict[str, tuple[str, object]] = {}
    clashes = []
    for name in _submodules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if attr in owner and owner[attr][1] is not obj:
                clashes.append(f"{attr}: {owner[attr][0]} vs {name}")
            owner.setdefault(attr, (name, obj))
    assert not clashes, clashes


def test_every_star_imported_name_is_reachable_from_the_package() -> None:
    source = open(T.__file__).read()
    for name in _submodules():
        if f"from {name} import *" not in source:
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            assert hasattr(T, attr), f"T.{attr} missing (from {name})"
