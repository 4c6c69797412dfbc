"""Extension: a Distributed Map over an S3 listing runs on the local cloud as on AWS.

moto 5.2.5's ASL interpreter (a port of LocalStack's) runs a Map state in DISTRIBUTED mode
with an ``ItemReader`` and a ``ResultWriter``, but not as AWS does:

- its grammar refuses, at ``CreateStateMachine`` (``InvalidDefinition``), three things AWS
  accepts: an **ItemBatcher**, an integer **ToleratedFailurePercentage** (it wants ``5.0``)
  and **EXPRESS** child workflows (``ProcessorConfig.ExecutionType``; only ``STANDARD``), so
  the backfill could not even deploy;
- **ItemReader ``s3:listObjectsV2``** reads only the first page (1,000 objects), fails with
  ``KeyError: 'Contents'`` on an empty prefix, and hands over boto3's items (``ETag``,
  ``LastModified`` as a datetime) instead of what Step Functions passes (``Etag``,
  ``LastModified`` in epoch seconds, ``Key``, ``Size``, ``StorageClass``);
- **ResultWriter** writes only a ``manifest.json`` whose ``ResultFiles`` are empty: no
  ``SUCCEEDED_<n>.json`` with what each child workflow was given and returned.

What this adds, without touching moto's files (each piece replaces one moto function by
name, like the other extensions):

- the parser sees each Map state without its ``ItemBatcher``, with a decimal percentage and
  STANDARD children (the stored definition is unchanged; children run in process either
  way, so EXPRESS versus STANDARD makes no difference here), and the map run groups the
  listed items into ``{"Items": [...], "BatchInput": {...}}`` of at most
  ``MaxItemsPerBatch`` (``BatchInput``'s ``.$`` paths read the Map state's input);
- the listing follows every continuation token, answers an empty prefix with no items, and
  shapes each item as Step Functions documents it;
- the result writer writes ``SUCCEEDED_0.json`` (every child's input and output) and a
  manifest naming it, under ``<Prefix>/<map run id>/``.

Still missing (not emulated; say so where it matters): ``ToleratedFailurePercentage`` and
``ToleratedFailureCount`` are read but not applied, so one failed child fails the whole map
run (moto's behaviour); children are not separate executions (no ``ListExecutions`` of the
map run, no ``DescribeMapRun`` item counts); ``MaxInputBytesPerBatch`` and
``ItemReader.ReaderConfig.MaxItems`` over a listing are ignored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
    resource_eval_s3 as reader_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as iteration,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
    resource_eval_s3 as writer_s3,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils.json_path import extract_json
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

# Step Functions' own default when MaxItemsPerBatch is left out but an ItemBatcher is given.
DEFAULT_MAX_ITEMS_PER_BATCH = 1_000

_LOCK = threading.Lock()
# Execution ARN -> {Map state name -> its ItemBatcher}, from the definition as deployed.
_BATCHERS: dict[str, dict[str, Mapping[str, Any]]] = {}
# Map run ARN -> the inputs its children were given, for the result writer.
_CHILD_INPUTS: dict[str, list[Any]] = {}
_INSTALLED: dict[str, bool] = {}


def map_batchers(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every Map state's ItemBatcher in ``definition``, by state name (nested ones too)."""
    found: dict[str, Mapping[str, Any]] = {}
    for name, state in (definition.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Map" and isinstance(state.get("ItemBatcher"), Mapping):
            found[name] = state["ItemBatcher"]
        for nested in (state.get("ItemProcessor"), state.get("Iterator")):
            if isinstance(nested, Mapping):
                found |= map_batchers(nested)
        for branch in state.get("Branches") or ():
            if isinstance(branch, Mapping):
                found |= map_batchers(branch)
    return found


def parsable(definition: Any) -> Any:
    """``definition`` as moto's grammar accepts it: each Map state without its ItemBatcher,
    an integer ToleratedFailurePercentage as a decimal, EXPRESS children as STANDARD."""
    if isinstance(definition, list):
        return [parsable(value) for value in definition]
    if not isinstance(definition, Mapping):
        return definition
    is_map = definition.get("Type") == "Map"
    converted: dict[str, Any] = {}
    for key, value in definition.items():
        if is_map and key == "ItemBatcher":
            continue
        if is_map and key == "ToleratedFailurePercentage" and isinstance(value, int):
            converted[key] = float(value)
        elif key == "ExecutionType" and value == "EXPRESS":
            converted[key] = "STANDARD"
        else:
            converted[key] = parsable(value)
    return converted


def batch_items(
    items: list[Any], batcher: Mapping[str, Any], state_input: Any
) -> list[dict[str, Any]]:
    """The items grouped as AWS hands them to each child: ``{"Items", "BatchInput"}``."""
    size = int(batcher.get("MaxItemsPerBatch", DEFAULT_MAX_ITEMS_PER_BATCH))
    batch_input = _resolve(batcher.get("BatchInput"), state_input)
    batches = []
    for start in range(0, len(items), size):
        batch: dict[str, Any] = {"Items": items[start : start + size]}
        if batch_input is not None:
            batch["BatchInput"] = batch_input
        batches.append(batch)
    return batches


def listed_item(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One ListObjectsV2 entry as the ItemReader passes it to the map."""
    modified = entry["LastModified"]
    if isinstance(modified, datetime):
        modified = int(modified.astimezone(UTC).timestamp())
    return {
        "Etag": entry.get("ETag"),
        "Key": entry["Key"],
        "LastModified": modified,
        "Size": entry.get("Size", 0),
        "StorageClass": entry.get("StorageClass", "STANDARD"),
    }


def _resolve(template: Any, state_input: Any) -> Any:
    """A payload template: ``"name.$": "$.path"`` fields read ``state_input``."""
    if isinstance(template, Mapping):
        resolved = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                resolved[key[:-2]] = extract_json(value, state_input)
            else:
                resolved[key] = _resolve(value, state_input)
        return resolved
    if isinstance(template, list):
        return [_resolve(value, state_input) for value in template]
    return template


def _execution_arn(env: Any) -> str:
    return str(env.states.context_object.context_object_data["Execution"]["Id"])


def install() -> None:
    """Replace the four moto functions (once per process)."""
    if _INSTALLED.get("done"):
        return
    _INSTALLED["done"] = True

    original_parse = AmazonStateLanguageParser.parse

    def parse(definition: str) -> Any:
        try:
            document = json.loads(definition)
        except (TypeError, ValueError):
            return original_parse(definition)
        if not isinstance(document, Mapping):
            return original_parse(definition)
        return original_parse(json.dumps(parsable(document)))

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]

    original_environment = ExecutionWorker._get_evaluation_environment

    def evaluation_environment(self: ExecutionWorker) -> Any:
        env = original_environment(self)
        definition = self._evaluation_details.state_machine_details.definition
        try:
            batchers = map_batchers(json.loads(definition))
        except (TypeError, ValueError):
            batchers = {}
        if batchers:
            with _LOCK:
                _BATCHERS[_execution_arn(env)] = batchers
        return env

    ExecutionWorker._get_evaluation_environment = evaluation_environment  # type: ignore[method-assign]

    original_map_run = iteration.DistributedIterationComponent._map_run

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        with _LOCK:
            batcher = _BATCHERS.get(_execution_arn(env), {}).get(eval_input.state_name)
        if batcher is not None:
            items = env.stack.pop()
            env.stack.append(batch_items(list(items), batcher, env.states.get_input()))
        with _LOCK:
            _CHILD_INPUTS[eval_input.map_run_record.map_run_arn] = list(env.stack[-1])
        original_map_run(self, env, eval_input)

    iteration.DistributedIterationComponent._map_run = map_run  # type: ignore[method-assign]

    def list_objects_v2(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        s3 = reader_s3.ResourceEvalS3._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        parameters = dict(env.stack.pop())
        items = []
        for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
            items += [listed_item(entry) for entry in page.get("Contents", [])]
        env.stack.append(items)

    reader_s3.ResourceEvalS3._handle_list_objects_v2 = staticmethod(list_objects_v2)  # type: ignore[method-assign]

    def put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = dict(env.stack.pop())
        outputs = env.stack.pop()
        s3 = writer_s3.ResourceEvalS3._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        record = env.map_run_record_pool_manager.get_all().pop()
        map_run_arn = record.map_run_arn
        with _LOCK:
            inputs = _CHILD_INPUTS.pop(map_run_arn, [])
        prefix = parameters.get("Prefix", "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = f"{prefix}{map_run_arn.split(':')[-1]}/"
        now = datetime.now(UTC).isoformat()
        children = [
            {
                "ExecutionArn": f"{map_run_arn}:{index}",
                "Input": json.dumps(inputs[index] if index < len(inputs) else None),
                "InputDetails": {"Included": True},
                "Name": str(index),
                "Output": json.dumps(output),
                "OutputDetails": {"Included": True},
                "RedriveCount": 0,
                "RedriveStatus": "NOT_REDRIVABLE",
                "StartDate": now,
                "StateMachineArn": record.map_state_machine_arn,
                "Status": "SUCCEEDED",
                "StopDate": now,
            }
            for index, output in enumerate(outputs)
        ]
        succeeded = json.dumps(children).encode()
        s3.put_object(Bucket=parameters["Bucket"], Key=f"{folder}SUCCEEDED_0.json", Body=succeeded)
        manifest_key = f"{folder}manifest.json"
        manifest = {
            "DestinationBucket": parameters["Bucket"],
            "MapRunArn": map_run_arn,
            "ResultFiles": {
                "FAILED": [],
                "PENDING": [],
                "SUCCEEDED": [{"Key": f"{folder}SUCCEEDED_0.json", "Size": len(succeeded)}],
            },
        }
        s3.put_object(
            Bucket=parameters["Bucket"], Key=manifest_key, Body=json.dumps(manifest).encode()
        )
        env.stack.append(
            {
                "MapRunArn": map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
            }
        )

    writer_s3.ResourceEvalS3._handle_put_object = staticmethod(put_object)  # type: ignore[method-assign]
