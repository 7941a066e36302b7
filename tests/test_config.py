"""Tests of symarray.config: the flag registry, its parsing and its docs."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from symarray import config
from symarray.config import BoolParam, EnumParam, FloatParam, IntParam, StrParam
from symarray.errors import ConfigError, SymarrayError, UnknownFlagError

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMES = [flag.name for flag in config.flags()]


@pytest.fixture(autouse=True)
def _restore_flags() -> Iterator[None]:
    """Put every flag back as it was, whatever the test did."""
    namespace = vars(config)
    saved = {name: namespace[name] for name in NAMES if name in namespace}
    yield
    for name in NAMES:
        if name in saved:
            namespace[name] = saved[name]
        else:
            namespace.pop(name, None)


def run_python(
    code: str, tmp_path: pathlib.Path, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with a clean symarray environment.

    No SYMARRAY_FLAGS, and SYMARRAYRC points nowhere unless given.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMARRAY")}
    env["SYMARRAYRC"] = str(tmp_path / "no-such-rc")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


DUMP = (
    "import json; from symarray import config; "
    "print(json.dumps({f.name: getattr(config, f.name) for f in config.flags()}))"
)


def dump_flags(tmp_path: pathlib.Path, **env_vars: str) -> dict[str, Any]:
    result = run_python(DUMP, tmp_path, **env_vars)
    assert result.returncode == 0, result.stderr
    values: dict[str, Any] = json.loads(result.stdout)
    return values


# ----------------------------------------------------------------- defaults
EXPECTED_DEFAULTS: dict[str, object] = {
    "floatX": "float64",
    "mode": "FAST_RUN",
    "linker": "cvm",
    "optimizer": "fast_run",
    "optimizer_including": "",
    "optimizer_excluding": "",
    "optimizer_requiring": "",
    "device": "cpu",
    "profile": False,
    "profile_memory": False,
    "profile_optimizer": False,
    "compute_test_value": "off",
    "allow_gc": True,
    "cast_policy": "custom",
    "record_creation_site": True,
    "exception_verbosity": "low",
    "on_unused_input": "raise",
    "warn_float64": "ignore",
    "print_thunk_backends": False,
    "traceback_limit": 8,
    "check_input": True,
    "deterministic": "default",
}


def test_required_flags_exist_with_their_defaults() -> None:
    defaults = {flag.name: flag.default for flag in config.flags()}
    for name, expected in EXPECTED_DEFAULTS.items():
        assert defaults[name] == expected, name
    assert "base_compiledir" in defaults


def test_fresh_process_starts_at_the_defaults(tmp_path: pathlib.Path) -> None:
    values = dump_flags(tmp_path, HOME=str(tmp_path), XDG_CACHE_HOME="")
    for name, expected in EXPECTED_DEFAULTS.items():
        assert values[name] == expected, name
    assert values["base_compiledir"] == str(tmp_path / ".cache" / "symarray")


def test_base_compiledir_follows_xdg_cache_home(tmp_path: pathlib.Path) -> None:
    values = dump_flags(tmp_path, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert values["base_compiledir"] == str(tmp_path / "xdg" / "symarray")


def test_base_compiledir_expands_user() -> None:
    config.base_compiledir = "~/somewhere"
    assert config.base_compiledir == os.path.expanduser("~/somewhere")
    assert not config.base_compiledir.startswith("~")


def test_every_flag_has_a_type_annotation_matching_its_default() -> None:
    annotations = {
        name: kind
        for name, kind in vars(config)["__annotations__"].items()
        if not name.startswith("_")
    }
    assert set(annotations) == set(NAMES)
    for flag in config.flags():
        assert annotations[flag.name] == type(flag.default).__name__, flag.name


def test_flag_descriptors() -> None:
    assert len(NAMES) == len(set(NAMES))
    for flag in config.flags():
        assert flag.doc and "\n" not in flag.doc, flag.name
        assert flag.allowed and flag.default_doc
        assert flag.kind.endswith("Param")
        assert flag.name in repr(flag)


# ----------------------------------------------------------------- setting
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("floatX", "float32", "float32"),
        ("floatX", " float16 ", "float16"),
        ("mode", "FAST_COMPILE", "FAST_COMPILE"),
        ("mode", "FAST_COMPILE", "FAST_COMPILE"),
        ("linker", "c|py_nogc", "c|py_nogc"),
        ("linker", "cvm", "cvm"),
        ("optimizer", "stabilize", "stabilize"),
        ("optimizer", None, "None"),
        ("optimizer_including", "fusion:inplace", "fusion:inplace"),
        ("device", "cuda", "cuda"),
        ("device", "cuda1", "cuda1"),
        ("device", "gpu", "gpu"),
        ("profile", True, True),
        ("profile", "1", True),
        ("allow_gc", "false", False),
        ("compute_test_value", "raise", "raise"),
        ("cast_policy", "numpy+floatX", "numpy+floatX"),
        ("traceback_limit", "-1", -1),
        ("traceback_limit", 20, 20),
        ("deterministic", "more", "more"),
    ],
)
def test_set_valid_value(name: str, value: object, expected: object) -> None:
    if name == "device":  # accepted, but there is no GPU backend yet
        with pytest.warns(UserWarning, match="no GPU backend yet; computations run "
                          "on the CPU"):
            setattr(config, name, value)
    else:
        setattr(config, name, value)
    assert getattr(config, name) == expected


def test_device_cpu_does_not_warn() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config.device = "cpu"
    assert config.device == "cpu"


@pytest.mark.parametrize(
    ("name", "value", "allowed_piece"),
    [
        ("floatX", "float31", "float64, float32, float16"),
        ("floatX", 32, "float64, float32, float16"),
        ("mode", "FAST", "FAST_RUN"),
        ("linker", "cvmm", "c|py_nogc"),
        ("optimizer", "o3", "fast_run"),
        ("device", "tpu", "cudaN"),
        ("device", "cuda-1", "cudaN"),
        ("profile", "yes", "True or False"),
        ("profile", 2, "True or False"),
        ("allow_gc", None, "True or False"),
        ("traceback_limit", "eight", "an integer"),
        ("traceback_limit", -2, "an integer >= -1"),
        ("traceback_limit", True, "an integer"),
        ("on_unused_input", "explode", "raise, warn, ignore"),
        ("base_compiledir", "", "non-empty"),
    ],
)
def test_set_invalid_value_names_flag_value_and_allowed(
    name: str, value: object, allowed_piece: str
) -> None:
    before = getattr(config, name)
    with pytest.raises(ConfigError) as info:
        setattr(config, name, value)
    message = str(info.value)
    assert repr(name) in message
    assert f"got {value!r}" in message
    assert allowed_piece in message
    assert getattr(config, name) == before  # unchanged
    assert isinstance(info.value, (SymarrayError, ValueError))


def test_enum_value_suggestion_ignores_case() -> None:
    with pytest.raises(ConfigError, match="did you mean 'FAST_RUN'"):
        config.mode = "fast_run"


# ----------------------------------------------------------------- unknown names
def test_unknown_flag_read_suggests_close_match() -> None:
    with pytest.raises(UnknownFlagError) as info:
        config.floatx  # type: ignore[attr-defined]  # noqa: B018
    assert "unknown flag 'floatx'; did you mean 'floatX'?" in str(info.value)
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, AttributeError)


def test_unknown_flag_set_raises_and_sets_nothing() -> None:
    with pytest.raises(UnknownFlagError, match="did you mean 'profile'"):
        config.profil = True  # type: ignore[attr-defined]
    assert "profil" not in vars(config)


def test_unknown_flag_without_close_match() -> None:
    with pytest.raises(UnknownFlagError) as info:
        config.zzqqxxyy  # type: ignore[attr-defined]  # noqa: B018
    assert "did you mean" not in str(info.value)
    assert "describe()" in str(info.value)


def test_hasattr_and_getattr_default_work() -> None:
    assert hasattr(config, "floatX")
    assert not hasattr(config, "floatx")
    assert getattr(config, "nope", 42) == 42


def test_dunder_lookups_stay_plain_attribute_errors() -> None:
    with pytest.raises(AttributeError) as info:
        config.__wrapped__  # type: ignore[attr-defined]  # noqa: B018
    assert not isinstance(info.value, ConfigError)


def test_real_module_attributes_can_still_be_set() -> None:
    original = config.describe
    try:
        config.describe = lambda: "patched"
        assert config.describe() == "patched"
    finally:
        config.describe = original


def test_dir_lists_flags() -> None:
    listing = dir(config)
    assert set(NAMES) <= set(listing)
    assert "change_flags" in listing


# ----------------------------------------------------------------- param kinds
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (True, True),
        (False, False),
        ("True", True),
        ("False", False),
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (" true ", True),
        (1, True),
        (0, False),
    ],
)
def test_bool_param_forms(text: object, expected: bool) -> None:
    assert BoolParam(False).convert(text) is expected


@pytest.mark.parametrize("text", ["yes", "no", "TRUE", "", "2", 2, 1.0, None])
def test_bool_param_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        BoolParam(False).convert(text)


def test_int_param() -> None:
    param = IntParam(3, minimum=0)
    assert param.convert("12") == 12
    assert param.convert(0) == 0
    for bad in ("1.5", "x", True, 1.0, -1):
        with pytest.raises(ValueError):
            param.convert(bad)
    with pytest.raises(TypeError):
        IntParam(-1, minimum=0)


def test_float_param() -> None:
    param = FloatParam(0.5, minimum=0.0)
    assert param.convert("1.5") == 1.5
    assert param.convert(2) == 2.0
    assert isinstance(param.convert(2), float)
    for bad in ("nan", "x", True, -0.1, None):
        with pytest.raises(ValueError):
            param.convert(bad)
    assert param.default() == 0.5


def test_str_param_validator_and_transform() -> None:
    param = StrParam("ab", validator=lambda s: s.islower(), transform=str.strip)
    assert param.convert(" xy ") == "xy"
    with pytest.raises(ValueError):
        param.convert("XY")
    with pytest.raises(ValueError):
        param.convert(3)
    assert StrParam(lazy=lambda: "late").default() == "late"


def test_param_declaration_errors() -> None:
    with pytest.raises(TypeError):
        EnumParam("c", ("a", "b"))
    with pytest.raises(TypeError):
        StrParam()  # neither default nor lazy


# ----------------------------------------------------------------- change_flags
def test_change_flags_context_restores() -> None:
    before = config.floatX
    with config.change_flags(floatX="float16", profile="true") as changer:
        assert config.floatX == "float16"
        assert config.profile is True
        assert isinstance(changer, config.change_flags)
    assert config.floatX == before
    assert config.profile is False


def test_change_flags_restores_on_exception() -> None:
    before = config.mode
    with pytest.raises(RuntimeError), config.change_flags(mode="FAST_COMPILE"):
        assert config.mode == "FAST_COMPILE"
        raise RuntimeError("boom")
    assert config.mode == before


def test_change_flags_as_decorator_and_reentrant() -> None:
    seen: list[str] = []

    @config.change_flags({"floatX": "float32"})
    def work(depth: int) -> None:
        seen.append(config.floatX)
        if depth:
            config.floatX = "float16"
            work(depth - 1)
            seen.append(config.floatX)  # restored to the outer call's value

    before = config.floatX
    work(1)
    work(0)
    assert seen == ["float32", "float32", "float16", "float32"]
    assert config.floatX == before


def test_change_flags_checks_at_once() -> None:
    with pytest.raises(ConfigError, match="got 'float31'"):
        config.change_flags(floatX="float31")
    with pytest.raises(UnknownFlagError, match="did you mean 'floatX'"):
        config.change_flags(floatx="float32")


def test_change_flags_keeps_lazy_default_lazy(tmp_path: pathlib.Path) -> None:
    code = (
        "from symarray import config\n"
        "with config.change_flags(base_compiledir='/tmp/elsewhere'):\n"
        "    assert config.base_compiledir == '/tmp/elsewhere'\n"
        "assert 'base_compiledir' not in vars(config)\n"
        "print(config.base_compiledir)\n"
    )
    result = run_python(code, tmp_path, XDG_CACHE_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "symarray")


# ----------------------------------------------------------------- describe, docs
def test_describe_lists_every_flag() -> None:
    config.floatX = "float32"
    text = config.describe()
    for flag in config.flags():
        assert f"{flag.name} = " in text
        assert flag.doc in text
        assert flag.allowed in text
    assert "floatX = 'float32'" in text
    assert "default: 'float64'" in text


def _load_docs_generator() -> Any:
    path = ROOT / "docs" / "_gen_config_table.py"
    spec = importlib.util.spec_from_file_location("_gen_config_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_table_lists_every_flag_and_is_current() -> None:
    document = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"| `{name}` |" in document, f"{name} missing from docs/config.md"
    generator = _load_docs_generator()
    assert generator.splice(document, generator.render_table()) == document, (
        "docs/config.md is out of date: run python docs/_gen_config_table.py"
    )


def test_config_imports_only_stdlib_and_errors() -> None:
    tree = ast.parse((ROOT / "symarray" / "config.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            assert module == "symarray.errors" or top in sys.stdlib_module_names, (
                f"symarray/config.py imports {module}; it must stay stdlib-only"
            )


# ----------------------------------------------------------------- environment
def test_env_flags_parsed_with_whitespace(tmp_path: pathlib.Path) -> None:
    flags = " floatX = float32 , mode=FAST_COMPILE,profile=1,, traceback_limit=3 "
    values = dump_flags(tmp_path, SYMARRAY_FLAGS=flags)
    assert values["floatX"] == "float32"
    assert values["mode"] == "FAST_COMPILE"
    assert values["profile"] is True
    assert values["traceback_limit"] == 3
    assert values["device"] == "cpu"


def test_env_unknown_flag_fails_import(tmp_path: pathlib.Path) -> None:
    result = run_python(DUMP, tmp_path, SYMARRAY_FLAGS="floatx=float32")
    assert result.returncode != 0
    assert "UnknownFlagError" in result.stderr
    assert "unknown flag 'floatx' (from SYMARRAY_FLAGS)" in result.stderr
    assert "did you mean 'floatX'?" in result.stderr


def test_env_bad_value_fails_import(tmp_path: pathlib.Path) -> None:
    result = run_python(DUMP, tmp_path, SYMARRAY_FLAGS="floatX=float31")
    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert (
        "invalid value for flag 'floatX' (from SYMARRAY_FLAGS): got 'float31'"
        in result.stderr
    )
    assert "float64, float32, float16" in result.stderr


def test_env_entry_without_equals_fails_import(tmp_path: pathlib.Path) -> None:
    result = run_python(DUMP, tmp_path, SYMARRAY_FLAGS="floatX")
    assert result.returncode != 0
    assert "entry 'floatX' has no '='" in result.stderr


# ----------------------------------------------------------------- rc files
def write_rc(path: pathlib.Path, body: str) -> pathlib.Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_rc_file_is_read(tmp_path: pathlib.Path) -> None:
    rc = write_rc(
        tmp_path / "rc", "[global]\nfloatX = float32\nprofile = true\ndevice=cuda0\n"
    )
    values = dump_flags(tmp_path, SYMARRAYRC=str(rc))
    assert values["floatX"] == "float32"
    assert values["profile"] is True
    assert values["device"] == "cuda0"


def test_default_rc_file_in_home(tmp_path: pathlib.Path) -> None:
    write_rc(tmp_path / ".symarrayrc", "[global]\nmode = FAST_COMPILE\n")
    env = {k: v for k, v in os.environ.items() if k != "SYMARRAYRC"}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("SYMARRAY_FLAGS", None)
    result = subprocess.run(
        [sys.executable, "-c", DUMP],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mode"] == "FAST_COMPILE"


def test_env_wins_over_rc_and_later_rc_wins(tmp_path: pathlib.Path) -> None:
    first = write_rc(tmp_path / "a", "[global]\nfloatX = float32\nmode = Mode\n")
    second = write_rc(tmp_path / "b", "[global]\nmode = FAST_COMPILE\n")
    rc_list = os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])
    values = dump_flags(tmp_path, SYMARRAYRC=rc_list, SYMARRAY_FLAGS="floatX=float16")
    assert values["floatX"] == "float16"  # env beats both files
    assert values["mode"] == "FAST_COMPILE"  # the later file beats the earlier


def test_rc_bad_value_names_the_file(tmp_path: pathlib.Path) -> None:
    rc = write_rc(tmp_path / "rc", "[global]\nallow_gc = maybe\n")
    result = run_python(DUMP, tmp_path, SYMARRAYRC=str(rc))
    assert result.returncode != 0
    assert f"(from {rc} [global]): got 'maybe'" in result.stderr


def test_rc_unknown_flag_and_section(tmp_path: pathlib.Path) -> None:
    rc = write_rc(tmp_path / "rc", "[global]\nflaotX = float32\n")
    result = run_python(DUMP, tmp_path, SYMARRAYRC=str(rc))
    assert result.returncode != 0
    assert "did you mean 'floatX'?" in result.stderr

    rc = write_rc(tmp_path / "rc2", "[gcc]\ncxxflags = -O2\n")
    result = run_python(DUMP, tmp_path, SYMARRAYRC=str(rc))
    assert result.returncode != 0
    assert "unknown section [gcc]" in result.stderr
