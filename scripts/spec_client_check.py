"""Real answers of the website API read through a Python client generated from openapi.yaml.

    spec_client_check.py PACKAGE SAMPLES_DIR

PACKAGE is the client openapi-python-client generated (importable), SAMPLES_DIR the answers
shared/tests/integration/events_replay.rs wrote (API_SAMPLES_DIR). scripts/spec_check runs it. Fails unless:
every operation of the spec that answers JSON has a JSON sample; each JSON sample goes through the operation's own
response parser (`_parse_response`, what `sync()` calls) to the model the spec declares for its
status, and back (`to_dict()`) to the same JSON, so no field is dropped or changed; and the
review models (`Review`, `ReviewPage`, `ResolvedReview`, `Resolution`) exist and were used.
"""

import importlib
import json
import re
import sys
from pathlib import Path

import attrs
import httpx
from ruamel.yaml import YAML

# Models a generated client once lost: they must exist and be what the review routes return.
REQUIRED_MODELS = {"Review", "ReviewPage", "ResolvedReview", "Resolution"}


def snake(name):
    """The generator's module name for an operation id or a tag."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).replace("-", "_").lower()


def ref_target(spec, node):
    """The object a `$ref` points to (or the node itself)."""
    while isinstance(node, dict) and "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        node = spec
        for part in path:
            node = node[part]
    return node


def model_names(value, seen):
    """Every generated model class in a parsed value."""
    if attrs.has(type(value)):
        seen.add(type(value).__name__)
        for field in attrs.fields(type(value)):
            model_names(getattr(value, field.name), seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            model_names(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            model_names(item, seen)


def main(package, samples_dir):
    spec = YAML(typ="safe").load(Path("openapi.yaml"))
    models = importlib.import_module(f"{package}.models")
    missing = sorted(name for name in REQUIRED_MODELS if not hasattr(models, name))
    if missing:
        sys.exit(f"the generated client has no model {', '.join(missing)}")
    client = importlib.import_module(package).Client(base_url="http://127.0.0.1")

    operations = {}
    for template, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", template) + "$")
        for method, operation in item.items():
            module = importlib.import_module(
                f"{package}.api.{snake(operation['tags'][0])}.{snake(operation['operationId'])}"
            )
            operations[(method.upper(), template)] = (pattern, operation, module)

    errors, parsed_ok, seen, read = [], set(), set(), 0
    samples = sorted(Path(samples_dir).glob("*.json"))
    for file in samples:
        sample = json.loads(file.read_text())
        method, path, status = sample["method"], sample["path"], sample["status"]
        found = [
            (key, op, module)
            for key, (pattern, op, module) in operations.items()
            if key[0] == method and pattern.match(path)
        ]
        if not found:
            errors.append(f"{file.name}: {method} {path} is no operation of the spec")
            continue
        key, operation, module = found[0]
        media = (sample["content_type"] or "").split(";")[0].strip()
        if media != "application/json":
            # The generated client reads JSON only; the evidence file's text form is for people.
            continue
        declared = ref_target(spec, operation["responses"].get(str(status), {}))
        schema = declared.get("content", {}).get("application/json", {}).get("schema", {})
        expected = schema.get("$ref", "").rsplit("/", 1)[-1]
        body = json.loads(sample["body"])
        response = httpx.Response(
            status,
            headers={"content-type": sample["content_type"]},
            content=sample["body"].encode(),
        )
        try:
            parsed = module._parse_response(client=client, response=response)
        except Exception as e:  # noqa: BLE001 (any failure to read an answer is the finding)
            errors.append(f"{file.name}: {method} {path} -> {status}: the client failed: {e!r}")
            continue
        if type(parsed).__name__ != expected:
            errors.append(
                f"{file.name}: {method} {path} -> {status}: parsed as {type(parsed).__name__}, "
                f"the spec declares {expected or 'no schema'}"
            )
            continue
        if parsed.to_dict() != body:
            errors.append(
                f"{file.name}: {method} {path} -> {status}: the model does not give back the answer\n"
                f"  answer: {json.dumps(body, sort_keys=True)}\n"
                f"  model:  {json.dumps(parsed.to_dict(), sort_keys=True)}"
            )
            continue
        read += 1
        model_names(parsed, seen)
        if status < 300:
            parsed_ok.add(key)

    # Operations that answer JSON (the review console's page and files answer HTML, script and
    # style, which the generated client does not read).
    answers_json = {
        key
        for key, (_, operation, _) in operations.items()
        if any(
            code.startswith("2")
            and "application/json" in ref_target(spec, response).get("content", {})
            for code, response in operation["responses"].items()
        )
    }
    for key in sorted(answers_json - parsed_ok):
        errors.append(f"{key[0]} {key[1]}: no 2xx JSON sample read through the client")
    unused = sorted(REQUIRED_MODELS - seen)
    if unused:
        errors.append(f"no sample was read into {', '.join(unused)}")
    if errors:
        sys.exit("\n".join(["the generated client cannot read the API's answers:", *errors]))
    print(
        f"the generated client read {read} JSON answers back unchanged, every operation's "
        f"among them, into {len(seen)} models"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
