"""Backend options are typed: a misspelt option is a one-line error naming the nearest valid
one, and checking them changed no store key (the keys below were computed before the options
were typed, from the quickstart's model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from culturalign.config import load_experiment, parse_experiment
from culturalign.errors import ConfigError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.options import OPTION_MODELS
from culturalign.models.registry import known_backends
from culturalign.store.keys import request_key

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.toml"
MESSAGES = (ChatMessage(role="user", content="Imagine ten interviews."),)


def _experiment(model_fields: str) -> dict:
    import tomllib

    return tomllib.loads(
        f"""
probe = "wvs"
name = "opts"
languages = ["en"]

[[models]]
name = "m"
{model_fields}
"""
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            'backend = "llamacpp"\noptions = { n_thread = 1 }',
            "unknown llamacpp option 'n_thread'; did you mean 'n_threads'?",
        ),
        ('backend = "mock"\noptions = { mdoe = "list" }', "unknown mock option 'mdoe'; did you mean 'mode'?"),
        ('backend = "openai"\noptions = { retry_base = 1 }', "did you mean 'retry_base_s'?"),
        ('backend = "vllm"\noptions = { max_batches = 8 }', "did you mean 'max_batch'?"),
        ('backend = "mock"\noptions = { zzz = 1 }', "unknown mock option 'zzz'; valid options: choices, fail_rate"),
        ('backend = "llamacpp"\noptions = { n_ctx = "big" }', "llamacpp option 'n_ctx'"),
        ('backend = "mock"\noptions = { mode = "poem" }', "mock option 'mode'"),
    ],
)
def test_a_bad_option_is_one_line_naming_the_nearest_valid_one(fields, message):
    with pytest.raises(ConfigError) as caught:
        parse_experiment(_experiment(fields))
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert "models.0.options" in text


def test_every_built_in_backend_declares_its_options():
    from culturalign.plugins import BACKENDS, BUILTIN

    built_in = set(BUILTIN[BACKENDS])
    assert built_in <= set(OPTION_MODELS) and built_in <= set(known_backends())
    for model in OPTION_MODELS.values():
        assert model.model_config.get("extra") == "forbid"


def test_typed_options_leave_the_store_keys_as_they_were():
    spec = load_experiment(QUICKSTART).config.models[0]
    assert request_key(spec, MESSAGES, spec.params, 0) == (
        "1a3118350f46c3a8025feebc8bb2e3e67a54f455b1622cdcc1889f3f5104ef44"
    )
    expected = {
        "n_threads": ({"n_threads": 1}, "2c9819223b408a6cb221853f3c2f82756817aebf977fedd95876d26d51299080"),
        "n_ctx": ({"n_ctx": 4096}, "518279108c26a455e3bc81c251f2af24a774a8153a221e8a1ac93123ddc7afdf"),
        "all": (
            {"n_ctx": 4096, "n_threads": 4, "default_max_tokens": 300},
            "396a79e4be78968127d2b14f8c19b932b5656c1bddb95f88f467748150403bae",
        ),
    }
    for options, key in expected.values():
        typed = ModelSpec(**{**spec.model_dump(), "options": options})
        assert request_key(typed, MESSAGES, spec.params, 1) == key
    mock = ModelSpec(name="m", backend="mock", options={"mode": "list", "items": 3, "seed": 7})
    assert request_key(mock, MESSAGES, GenerateConfig(), 0) == (
        "c0b19dcdc722d72677c936cc14e8b5d5a36212b58841a8bcf23d973b194a6cc8"
    )
    hosted = ModelSpec(
        name="o", backend="openai", model="gpt-x", options={"retry_base_s": 0.1, "extra_body": {"top_k": 5}}
    )
    assert request_key(hosted, MESSAGES, GenerateConfig(temperature=0.0), 0) == (
        "c77bc71211e647c72bf95518b24e85d24d0a0b5f5ef8388bae9dbfc121e73026"
    )


def test_a_backend_registered_from_outside_can_bring_its_own_options(monkeypatch):
    from culturalign.models import registry
    from culturalign.models.options import BackendOptions
    from culturalign.models.registry import register_backend

    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    monkeypatch.setattr("culturalign.models.options.OPTION_MODELS", dict(OPTION_MODELS))

    class EchoOptions(BackendOptions):
        prefix: str = ""

    register_backend("test-echo-opts", lambda spec: None, options_model=EchoOptions)  # type: ignore[arg-type,return-value]
    ModelSpec(name="e", backend="test-echo-opts", options={"prefix": ">"})
    with pytest.raises(ValueError, match="did you mean 'prefix'"):
        ModelSpec(name="e", backend="test-echo-opts", options={"prefx": ">"})
    # Without a model its options are its own business, as before.
    ModelSpec(name="e", backend="test-unchecked", options={"anything": 1})
