"""Read a wandb offline run file (.wandb) back, to check what was logged.

The file is a 7-byte W&B header followed by the LevelDB log format: 32 KiB blocks of
chunks (crc32c: 4 bytes, length: 2, type: 1 = full, 2 = first, 3 = middle, 4 = last),
each record a protobuf `wandb_internal_pb2.Record`.
"""

import json
import struct

BLOCK = 32768


def records(path):
    from wandb.proto import wandb_internal_pb2 as pb

    data = open(path, "rb").read()
    assert data[:4] == b":W&B", "not a wandb run file"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:  # zero padding to the block's end
            pos += left
            continue
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def read_offline_run(path) -> dict:
    """group, job_type, tags, project, config, history (list of dicts), summary."""
    run = {"config": {}, "history": [], "summary": {}}

    def items(update):
        return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in update}

    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.update(group=r.run_group, job_type=r.job_type, tags=list(r.tags), project=r.project)
            run["config"].update(items(r.config.update))
        elif kind == "config":
            run["config"].update(items(record.config.update))
        elif kind == "history":
            run["history"].append(items(record.history.item))
        elif kind == "summary":
            run["summary"].update(items(record.summary.update))
    return run
