"""The credential detector's documented rules (gradient_provider/credentials.py, docs/review-plan.md):
what is a finding, what is not, and that redaction hides every finding."""

from __future__ import annotations

import base64
import random
import string

import pytest

from gradient_provider.credentials import REDACTED, findings, looks_random, mask_text, redact, scan
from gradient_provider.stack import SecretRef

# Rule 1: one of each known token shape (fake values of the real formats).
TOKENS = {
    "a GitHub token": "ghp_" + "Zq8xW2vN4mK7pL9sR3tY6uB1cD5eF0gH2jA4",
    "a GitHub fine-grained token": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "a GitLab token": "glpat-" + "xYz123AbC456dEf789gH",
    "a Hugging Face token": "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNm123456",
    "an AWS access key id": "AKIA" + "Q3EXAMPLE7Z2R4T6",
    "a Slack token": "xoxb-" + "123456789012-abcdefGHIJKL",
    "a Slack webhook": "https://hooks.slack.com/services/" + "T000/B000/XXXXXXXXXXXXXXXX",
    "an OpenAI or Anthropic API key": "sk-" + "proj-aB3dE5fG7hJ9kL1mN3pQ5rS7",
    "a Stripe key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "a Google API key": "AIza" + "SyA1234567890abcdefghijklmnopqrstuv",
    "an npm token": "npm_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "a PyPI token": "pypi-AgE" + "IcHlwaS5vcmcCJGI4YmNhYTAzLTE5NjQtNGQzYi05ZDlhLWY5YjUwZWY0ZDY3Yg",
    "a JSON Web Token": "eyJhbGciOiJIUzI1NiJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "a long random-looking string": "wJalrXUtnFEMI7K7MDENGbPxRfiCY3x4mPl9QaZ2",
}
# What is not a credential, though it may look close: names, paths, images, model ids, hashes, ids, options.
INNOCENT = [
    "prod",
    "python train.py --epochs 30 --out /outputs/model",
    "torchrun --nproc-per-node 1 train.py --tokenizer bert-base-uncased --max-tokens 512",
    "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime",
    "ghcr.io/acme/batch-scorer@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "3f2a9c1e5b7d8f0a1c2e3f4a5b6c7d8e9f0a1b2c",
    "123e4567-e89b-12d3-a456-426614174000",
    "run-3f2a9c1e-5b7d-8f0a-1c2e-3f4a5b6c7d8e",
    "TheBloke/Llama-2-13B-chat-GPTQ-4bit-128g",
    "HuggingFaceH4/zephyr-7b-beta-instruct-v2",
    "meta-llama/Meta-Llama-3.1-70B-Instruct",
    "models/ResNet50Classifier/v2/weights_final",
    "s3://my-bucket-2024/datasets/imagenet-1k/train/shard-00001.tar",
    "https://github.com/acme/resnet-training.git",
    "git@github.com:acme/resnet-training.git",
    "serve --token $HF_TOKEN --password-file /run/secrets/db",
    "pulumi config set --secret hfToken value",
    "task-abcdefghijklmnopqrstuvwxyz",
    "secret:HF_TOKEN",
]


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_each_known_shape_is_found_alone_and_inside_text(kind: str) -> None:
    token = TOKENS[kind]
    assert scan(token) and token not in mask_text(token) and REDACTED in mask_text(token)
    text = f"python train.py --model x {token} --epochs 3"
    assert token not in mask_text(text)
    assert mask_text(text).startswith("python train.py --model x ")


@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_strings_are_not_findings(text: str) -> None:
    assert scan(text) == []
    assert list(findings({"env": {"GIT_SHA": text}, "command": text, "image": text})) == []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("https://bot:s3cr3tpass@github.com/acme/repo.git", "bot:s3cr3tpass"),
        ("Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"),
        ("HF_TOKEN=abc python train.py", "abc"),
        ("python train.py --api-key=k123 --epochs 1", "k123"),
        ("python train.py --password 'pw' --epochs 1", "pw"),
        ("curl https://x/y?access_token=tok3n&a=b", "tok3n"),
        ("serve --client-secret cs1 --port 80", "cs1"),
    ],
)
def test_credentials_in_urls_authorizations_and_secret_named_options(text: str, secret: str) -> None:
    assert scan(text)
    masked = mask_text(text)
    assert secret not in masked and REDACTED in masked


def test_a_private_key_is_redacted_whole() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
    assert mask_text(pem) == REDACTED


@pytest.mark.parametrize(
    "name",
    [
        "HF_TOKEN",
        "TOKEN",
        "API_KEY",
        "WANDB_API_KEY",
        "APIKEY",
        "DB_PASSWORD",
        "PASSWD",
        "MY_SECRET",
        "CLIENT_SECRET_ID",
        "BASIC_AUTH",
        "PASSPHRASE",
        "hfToken",
        "Authorization",
        "X-Api-Key",
        "Cookie",
    ],
)
def test_a_name_that_says_secret_makes_any_non_empty_literal_a_finding(name: str) -> None:
    for value in ("x", "12345678", "/run/secrets/x"):
        assert [f.path for f in findings({"env": {name: value}})] == [("env", name)]
        assert redact({"env": {name: value}}) == {"env": {name: REDACTED}}
    header = {"headers": [{"name": name, "value": "v"}]}
    assert [f.path for f in findings(header)] == [("headers", 0, "value")]


@pytest.mark.parametrize(
    "name", ["TOKENIZERS_PARALLELISM", "MAX_TOKENS", "KEYBOARD", "MONKEY", "AUTHOR", "OAUTH_CALLBACK_URL", "MODE"]
)
def test_other_names_are_not_findings(name: str) -> None:
    assert list(findings({"env": {name: "false"}})) == []


def test_references_and_empty_values_are_never_findings() -> None:
    env = {"HF_TOKEN": "secret:HF_TOKEN", "API_KEY": SecretRef("apiKey"), "PASSWORD": "", "MODE": "secret:X"}
    assert list(findings({"env": env})) == []
    assert list(findings({"env": {"HF_TOKEN": {"secret": "hfToken"}}})) == []


def test_long_hex_is_a_finding_as_an_env_value_unless_the_name_says_hash() -> None:
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert [f.kind for f in findings({"env": {"W": digest}})] == ["a long hexadecimal string"]
    assert list(findings({"env": {"GIT_SHA": digest, "MODEL_DIGEST": digest}})) == []
    assert list(findings({"workspace": {"ref": digest[:40]}, "image": f"x@sha256:{digest}"})) == []


def test_options_and_their_values_in_a_command_list() -> None:
    command = ["serve", "--api-key", "k1", "--token", "$TOKEN", "--port", "80"]
    assert [f.path for f in findings({"command": command})] == [("command", 2)]
    assert redact({"command": command})["command"] == [
        "serve",
        "--api-key",
        REDACTED,
        "--token",
        "$TOKEN",
        "--port",
        "80",
    ]


def test_keys_that_look_like_tokens_are_findings_and_masked() -> None:
    token = TOKENS["a GitHub token"]
    [finding] = findings({"env": {token: "1"}})
    assert finding.in_key and finding.path == ("env", token)
    assert redact({"env": {token: "1"}}) == {"env": {REDACTED: "1"}}


def test_random_strings_are_mostly_found_and_names_are_not() -> None:
    rng = random.Random(12)
    tokens = [base64.b64encode(rng.randbytes(30)).decode() for _ in range(500)]
    tokens += [base64.urlsafe_b64encode(rng.randbytes(24)).decode() for _ in range(500)]
    assert sum(looks_random(token) for token in tokens) >= 900  # measured: ~95 %
    words = ["resnet", "llama", "model", "train", "v2", "GPTQ", "Instruct", "base", "chat", "4bit", "70B", "data"]
    names = ["-".join(rng.choice(words) for _ in range(6)) + "/" + rng.choice(string.ascii_letters) for _ in range(500)]
    assert not any(looks_random(name) for name in names)


def test_redact_keeps_the_shape_and_everything_else() -> None:
    token = TOKENS["a Hugging Face token"]
    view = {
        "env": {"HF_TOKEN": "plain", "MODE": "prod", "S": SecretRef("s")},
        "command": f"HF_TOKEN={token} python train.py",
        "datasets": [{"name": "d", "ref": "ds1:3"}],
        "replicas": 2,
    }
    assert redact(view) == {
        "env": {"HF_TOKEN": REDACTED, "MODE": "prod", "S": SecretRef("s")},
        "command": f"HF_TOKEN={REDACTED} python train.py",
        "datasets": [{"name": "d", "ref": "ds1:3"}],
        "replicas": 2,
    }
