"""The skeleton's contract: a run asks each request once, and a rerun asks nothing new."""

from culturalign.engine import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.store import RunStore


def _requests(n: int) -> list[Request]:
    spec = ModelSpec(name="mock-a", model="mock-model", backend="mock", options={"mode": "list", "items": 3})
    return [
        Request(
            spec,
            (ChatMessage(role="user", content=f"Tell me about topic number {i} please"),),
            GenerateConfig(),
            0,
            {"i": i},
        )
        for i in range(n)
    ]


def test_rerun_asks_only_what_is_missing(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    run_id = store.start_run("smoke", "test", {"a": 1})
    first = run_requests(store, run_id, "generate", _requests(5), show_progress=False)
    assert first == {"total": 5, "cached": 0, "asked": 5, "answered": 5, "failed": 0}
    second = run_requests(store, run_id, "generate", _requests(7), show_progress=False)
    assert second["cached"] == 5 and second["asked"] == 2
    table = store.requests_with_meta(run_id, "generate")
    assert table.height == 7 and table["response"].null_count() == 0
    assert sorted(table["i"].to_list()) == list(range(7))
    assert store.start_run("smoke", "test", {"a": 1}) == run_id  # same name and config resumes


def test_key_ignores_labels_but_not_parameters():
    a = _requests(1)[0]
    relabelled = Request(a.model.model_copy(update={"name": "other", "max_concurrency": 3}), a.messages, a.params, 0)
    hotter = Request(a.model, a.messages, GenerateConfig(temperature=1.0), 0)
    assert relabelled.key == a.key
    assert hotter.key != a.key
    assert Request(a.model, a.messages, a.params, 1).key != a.key
