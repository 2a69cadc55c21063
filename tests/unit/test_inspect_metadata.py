"""Deriving fields from kohya/modelspec metadata: labels, trigger-word ranking, bad values."""

from __future__ import annotations

import json

import pytest

from lora_desktop.services.inspect.metadata import base_model_label, derive, folder_token
from tests.inspect_files import kohya_metadata


def test_kohya_metadata_gives_every_derived_field() -> None:
    derived = derive(kohya_metadata())
    assert derived.title == "redhair_v2"
    assert derived.base_model == "SDXL 1.0"
    assert (derived.network_module, derived.network_dim, derived.network_alpha) == (
        "networks.lora",
        32,
        16.0,
    )
    assert derived.resolution == "1024x1024"
    assert derived.problems == []


def test_candidates_are_ranked_phrase_class_tokens_folder_then_frequent_tags() -> None:
    meta = kohya_metadata(**{"modelspec.trigger_phrase": "rdhr style"})
    words = [(c.word, c.source) for c in derive(meta).candidates]
    assert words[:3] == [
        ("rdhr style", "modelspec.trigger_phrase"),
        ("ohwx woman", "class_tokens"),
        ("ohwx", "folder"),
    ]
    # Tags summed over both folders: red hair 60, 1girl 50, outdoors 30, smile 12.
    assert [w for w, s in words if s == "tag_frequency"] == [
        "red hair",
        "1girl",
        "outdoors",
        "smile",
    ]
    counts = {c.word: c.count for c in derive(meta).candidates}
    assert counts["red hair"] == 60


def test_modelspec_title_wins_over_the_output_name() -> None:
    assert derive(kohya_metadata(**{"modelspec.title": "Red Hair"})).title == "Red Hair"


@pytest.mark.parametrize(
    ("meta", "label"),
    [
        ({"ss_base_model_version": "sd_v1"}, "SD 1.5"),
        ({"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}, "SDXL 1.0"),
        ({"modelspec.architecture": "flux-1-dev/lora"}, "Flux.1 D"),
        ({"ss_sd_model_name": "ponyDiffusionV6XL.safetensors"}, "Pony"),
        (
            {
                "ss_base_model_version": "sdxl_base_v1-0",
                "ss_sd_model_name": "illustriousXL.safetensors",
            },
            "Illustrious",
        ),
        ({"ss_base_model_version": "sd_v1", "ss_sd_model_name": "pony.safetensors"}, "SD 1.5"),
        ({"ss_base_model_version": "my-own-model"}, "my-own-model"),
        ({"ss_base_model_version": "None"}, None),
    ],
)
def test_base_model_labels_follow_the_order_of_trust(meta: dict[str, str], label: str) -> None:
    assert derive(meta).base_model == label


def test_kohya_string_values_none_and_true_are_read_as_such() -> None:
    derived = derive(
        {"ss_network_alpha": "None", "ss_network_dim": "None", "ss_output_name": "None"}
    )
    assert (derived.network_alpha, derived.network_dim, derived.title) == (None, None, None)


def test_tag_frequency_that_is_not_json_is_ignored_with_a_note() -> None:
    derived = derive(kohya_metadata(ss_tag_frequency="{not json", ss_datasets="[oops"))
    assert derived.problems == [
        "ss_datasets is not valid JSON; ignored",
        "ss_tag_frequency is not valid JSON; ignored",
    ]
    assert derived.candidates == []
    assert derived.title == "redhair_v2"  # the rest still derived


def test_tag_frequency_with_odd_shapes_keeps_what_is_usable() -> None:
    odd = json.dumps({"10_abc": {"good": 3, "bad": "x", "flag": True}, "junk": [1]})
    words = [c.word for c in derive({"ss_tag_frequency": odd}).candidates]
    assert words == ["abc", "good"]


def test_folder_tokens() -> None:
    assert folder_token("10_ohwx woman") == "ohwx"
    assert folder_token("/data/train/5_sks") == "sks"
    assert folder_token("images") is None
    assert base_model_label("SDXL 1.0") == "SDXL 1.0"
