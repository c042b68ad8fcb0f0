"""A knowledge file read once is not parsed again from the cache folder, and a changed or broken one is."""

from __future__ import annotations

import tomllib

import pytest

from policy_kb.errors import PolicyLoadError
from policy_kb.knowledge import read_toml


def test_a_file_read_before_comes_from_the_cache_until_it_changes(tmp_path, monkeypatch):
    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text('[concepts]\npupil = ["pupil", "child"]\n', encoding="utf-8")
    cache = tmp_path / "cache"
    first = read_toml(knowledge, what="knowledge file", cache_dir=cache)
    parses = []
    real_loads = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: parses.append(text) or real_loads(text))
    assert read_toml(knowledge, what="knowledge file", cache_dir=cache) == first == {"concepts": {"pupil": ["pupil", "child"]}}
    assert parses == []
    knowledge.write_text('[concepts]\npupil = ["pupil"]\n', encoding="utf-8")
    assert read_toml(knowledge, what="knowledge file", cache_dir=cache) == {"concepts": {"pupil": ["pupil"]}}
    assert len(parses) == 1


def test_a_broken_file_is_still_named_with_a_cache_folder(tmp_path):
    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text("[concepts\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="not valid TOML"):
        read_toml(knowledge, what="knowledge file", cache_dir=tmp_path / "cache")
    assert not list(tmp_path.glob("cache/*"))


def test_an_unreadable_cached_copy_is_made_again(tmp_path):
    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text('name = "x"\n', encoding="utf-8")
    cache = tmp_path / "cache"
    read_toml(knowledge, what="knowledge file", cache_dir=cache)
    (copy,) = cache.glob("toml-*.json")
    copy.write_text("{not json", encoding="utf-8")
    assert read_toml(knowledge, what="knowledge file", cache_dir=cache) == {"name": "x"}
