"""moto_server with DynamoDB transactions that are atomic under concurrent requests.

moto serves requests on threads. Its TransactWriteItems deep-copies every table the transaction
names before it starts and, when the transaction is cancelled (a failed condition), puts those
copies back: a write another request made to the table meanwhile is lost, with its stream
record, and the table's stream shard becomes a new object, so open shard iterators stop seeing
new records. The copy also costs time in proportion to the table's size, on every transaction.
DynamoDB does none of this: a cancelled transaction leaves the table as it was, and only that.

The sync state and the store cancel transactions as part of normal work (a lost race, an older
write), so the local pipeline runs moto with two corrections, here:

- every DynamoDB and DynamoDB Streams call runs under one lock, so no call sees or writes a
  table in the middle of a transaction;
- a transaction keeps the tables in place and, when it fails, puts back only the items it
  named and drops the stream records it added.

Run it as moto_server is run: ``python3 moto-server.py -H 127.0.0.1 -p 4566``. The caller
(``infra/local/emulator.ts``) runs it when ``python3`` imports moto, and ``moto_server`` as
installed otherwise. Exit code 3 means this Python has no moto, or one without the DynamoDB
internals patched here: the emulator then does not start, with that message.
"""

import copy
import functools
import sys
import threading

try:
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend
    from moto.server import main
except ImportError as error:
    print(f"moto is not importable from {sys.executable}: {error}", file=sys.stderr)
    sys.exit(3)

LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with LOCK:
            return method(*args, **kwargs)

    return run


for backend in (DynamoDBBackend, DynamoDBStreamsBackend):
    for name, member in list(vars(backend).items()):
        if callable(member) and not name.startswith("_"):
            setattr(backend, name, _serialized(member))


class _CopyExceptTables:
    """The ``copy`` module as moto's DynamoDB models see it, except that a table is not copied."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


dynamodb_models.copy = _CopyExceptTables()

_transact_write_items = DynamoDBBackend.transact_write_items


def _key_of(table, operation_type, operation):
    if operation_type == "Put":
        item = operation["Item"]
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {name: item[name] for name in names if name in item}
    return operation.get("Key", {})


def _restore(table, hash_key, range_key, item):
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


def transact_write_items(self, transact_items):
    with LOCK:
        before = []
        stream_lengths = {}
        for entry in transact_items:
            try:
                operation_type, operation = next(iter(entry.items()))
                table = self.tables[operation["TableName"]]
                hash_key, range_key = self.get_keys_value(table, _key_of(table, operation_type, operation))
            except Exception:
                continue  # moto refuses the malformed entry itself, before it writes anything
            current = table.get_item(hash_key, range_key)
            before.append((table, hash_key, range_key, None if current is None else copy.deepcopy(current)))
            if table.stream_shard is not None:
                stream_lengths.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            return _transact_write_items(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(before):
                _restore(table, hash_key, range_key, item)
            for shard, length in stream_lengths.values():
                del shard.items[length:]
            raise


DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    main(sys.argv[1:])
